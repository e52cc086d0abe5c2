import ArgumentParser
import ConvergeClient
import ConvergeCommandLine
import ConvergeNet
import SystemPackage

/// wsproxy: stdin/stdout ⇄ one WebSocket. Made for SSH's ProxyCommand.
struct WSProxy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wsproxy",
        abstract: "Connect standard input and output to a WebSocket (an SSH ProxyCommand).",
        discussion: """
            Bytes from standard input go to the server in binary frames; what the server sends \
            comes out on standard output. Works with any RFC 6455 server.

            Example:
              ssh -o ProxyCommand='wsproxy wss://converge.example.com/client/ID' user@ID

            https_proxy (wss://), http_proxy (ws://) and no_proxy are honoured.
            """,
        version: BuildInfo.current.versionLine)

    @OptionGroup var server: ServerOptions<ClientURL>

    func run() throws {
        Socket.ignoreBrokenPipeSignal()
        let setup = try ClientSetup(url: server.url, caFile: server.cacert, insecure: server.insecure) { Log.stderr.writeLine("wsproxy: \($0)") }
        let connection = try setup.dialer().dial()
        // ssh talks to a ProxyCommand through pipes: big ones mean few wake-ups per MiB.
        Socket.growPipe(.standardInput)
        Socket.growPipe(.standardOutput)
        let stdio = FileStream(read: .standardInput, write: .standardOutput)
        defer {
            stdio.restoreFlags()
            connection.stream.close()
        }
        let relay = Relay(.plain(stdio, name: "stdio"), connection.relayEnd(name: "server"))
        let outcome = try relay.run()
        if case .closed(by: .b, let code?, let reason) = outcome, code == AgentCloseCode.endedLogin {
            throw ExitMessage("the agent closed the connection: \(reason)")
        }
        if case .closed(by: .b, let code?, let reason) = outcome,
           code != 1000 && code != 1001 {
            throw ExitMessage("the server closed the connection: \(code)\(reason.isEmpty ? "" : " \(reason)")")
        }
    }
}

/// A runtime error that is just its message.
struct ExitMessage: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

CommandMain.run(WSProxy.self)
