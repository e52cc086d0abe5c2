import ArgumentParser
import ConvergeCommandLine
import Testing

/// A command with the options the programs share, as they declare them.
private struct Listener: ParsableCommand {
    @Option(addressHelp: "Address to listen on.") var listen = HostPort(host: "127.0.0.1", port: 10000)
    @Option(name: .customLong("also-listen"), addressHelp: "Another address.") var alsoListen: HostPort?
    @OptionGroup var server: ServerOptions<ClientURL>
}

@Suite struct OptionGroupTests {
    @Test func serverOptions() throws {
        let parsed = try Listener.parse(["--cacert", "ca.pem", "--insecure", "wss://x/client/a", "--listen", "[::1]:22"])
        #expect(parsed.server.url == "wss://x/client/a")
        #expect(parsed.server.cacert == "ca.pem")
        #expect(parsed.server.insecure)
        #expect(parsed.listen == HostPort(host: "::1", port: 22))
        #expect(parsed.alsoListen == nil)
        #expect(try Listener.parse(["--also-listen", "0.0.0.0:2222", "ws://x/client/a"]).alsoListen == HostPort(host: "0.0.0.0", port: 2222))
        let defaults = try Listener.parse(["ws://x/client/a"])
        #expect(defaults.server.cacert == nil && !defaults.server.insecure)
        #expect(defaults.listen == HostPort(host: "127.0.0.1", port: 10000))
    }

    @Test func helpNamesTheDefaultAndTheURLForm() {
        let help = Listener.helpMessage(columns: 200)
        #expect(help.contains("--listen <host:port>    Address to listen on. (default: 127.0.0.1:10000)"))
        #expect(help.contains("<url>                   The WebSocket URL: ws[s]://host[:port]/client/ID."))
        #expect(help.contains("--cacert <file>"))
        #expect(help.contains("--also-listen <host:port>"))
        #expect(ServerOptions<ServerBaseURL>.helpMessage(columns: 200).contains("The server: ws[s]://host[:port]."))
    }

    @Test func aBadAddressSaysWhatIsWrongAndNamesTheFlag() {
        do {
            _ = try Listener.parse(["--listen", "localhost", "ws://x/client/a"])
            Issue.record("expected a usage error")
        } catch {
            #expect(Listener.message(for: error)
                == "The value 'localhost' is invalid for '--listen <host:port>': invalid address 'localhost': expected HOST:PORT, like 127.0.0.1:10000 or [::1]:10000")
            #expect(Listener.exitCode(for: error) != .success)
        }
        do {
            _ = try Listener.parse(["--also-listen", "[::1]", "ws://x/client/a"])
            Issue.record("expected a usage error")
        } catch {
            #expect(Listener.message(for: error).hasPrefix("The value '[::1]' is invalid for '--also-listen <host:port>': invalid address '[::1]'"))
        }
    }
}
