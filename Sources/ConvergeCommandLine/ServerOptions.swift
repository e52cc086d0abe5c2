import ArgumentParser

/// The server a client program dials and how it checks the server's certificate: the
/// same arguments for the agent, wsproxy and tcptows (`@OptionGroup`).
///
/// ```swift
/// @OptionGroup var server: ServerOptions<ClientURL>
/// let setup = try ClientSetup(url: server.url, caFile: server.cacert, insecure: server.insecure) { ... }
/// ```
public struct ServerOptions<URLForm: ServerURLForm>: ParsableArguments {
    @Option(help: ArgumentHelp("Trust only the CA certificates in this PEM file for wss://.", valueName: "file"))
    public var cacert: String?

    @Flag(help: "Do not verify the server's TLS certificate (prints a warning).")
    public var insecure = false

    @Argument(help: ArgumentHelp(URLForm.help, valueName: "url"))
    public var url: String

    public init() {}
}

/// What a program's URL argument names, for its help line.
public protocol ServerURLForm {
    static var help: String { get }
}

/// The agent's: the server's base URL (it appends /agent/ID).
public enum ServerBaseURL: ServerURLForm {
    public static let help = "The server: ws[s]://host[:port]."
}

/// wsproxy's and tcptows': one agent's client URL.
public enum ClientURL: ServerURLForm {
    public static let help = "The WebSocket URL: ws[s]://host[:port]/client/ID."
}
