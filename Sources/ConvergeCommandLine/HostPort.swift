import ArgumentParser

/// A listen address as written on our command lines: `127.0.0.1:10000`, `0.0.0.0:8000`,
/// `[::1]:8000`, `localhost:8000`. `host` has no brackets (ready for `TCPListener`).
public struct HostPort: Equatable, Sendable, CustomStringConvertible, ExpressibleByArgument {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String) throws(ParseError) -> HostPort {
        let hint = "expected HOST:PORT, like 127.0.0.1:10000 or [::1]:10000"
        var host: Substring
        let portText: Substring
        if text.first == "[" {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].first == ":" else {
                throw ParseError(description: "invalid address '\(text)': \(hint)")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard host.contains(":") else { throw ParseError(description: "invalid address '\(text)': brackets are for IPv6 addresses") }
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw ParseError(description: "invalid address '\(text)': \(hint)") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else { throw ParseError(description: "invalid address '\(text)': put an IPv6 address in brackets, like [::1]:10000") }
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-_:%".contains($0)) }) else {
            throw ParseError(description: "invalid address '\(text)': \(hint)")
        }
        guard let port = Int(portText), (0...65535).contains(port), portText.allSatisfy(\.isNumber) else {
            throw ParseError(description: "invalid port in '\(text)': use 0 to 65535")
        }
        return HostPort(host: String(host), port: port)
    }

    public init?(argument: String) {
        guard let value = try? HostPort.parse(argument) else { return nil }
        self = value
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    public var defaultValueDescription: String { description }
}

extension Option where Value == HostPort {
    /// A HOST:PORT option as every program reads it: an error says what is wrong with the
    /// address (`HostPort.parse`), and the help names the default, as for other options.
    ///
    /// ```swift
    /// @Option(addressHelp: "Address to listen on.") var listen = HostPort(host: "0.0.0.0", port: 8000)
    /// ```
    public init(wrappedValue: HostPort, name: NameSpecification = .long, addressHelp: String) {
        self.init(wrappedValue: wrappedValue, name: name,
                  help: ArgumentHelp("\(addressHelp) (default: \(wrappedValue))", valueName: "host:port"),
                  transform: { try HostPort.parse($0) })
    }
}

extension Option where Value == HostPort? {
    /// The same for an address with no default (`var sshListen: HostPort?`).
    public init(name: NameSpecification = .long, addressHelp: String) {
        self.init(name: name, help: ArgumentHelp(addressHelp, valueName: "host:port"), transform: { try HostPort.parse($0) })
    }
}
