import ArgumentParser
import ConvergeClient
import ConvergeCommandLine
import ConvergeNet
import Glibc
import SystemPackage

/// tcptows: a local TCP port where each accepted connection gets its own WebSocket.
///
/// The parent stays single-threaded and small: it accepts, forks one child per
/// connection and reaps children without ever blocking on them. A child dials, relays
/// and exits, so a failure in one connection never touches the others.
struct TCPToWS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcptows",
        abstract: "Tunnel each TCP connection to a local port over its own WebSocket.",
        discussion: """
            Example:
              tcptows wss://converge.example.com/client/ID &
              ssh -p 10000 user@localhost
              sftp -oPort=10000 user@localhost

            https_proxy (wss://), http_proxy (ws://) and no_proxy are honoured.
            """,
        version: BuildInfo.current.versionLine)

    @Option(addressHelp: "Address to listen on.")
    var listen = HostPort(host: "127.0.0.1", port: 10000)

    @OptionGroup var server: ServerOptions<ClientURL>

    /// At most this many connections at once: a port scan must not fork without limit.
    static let maxConnections = 64

    func run() throws {
        Socket.ignoreBrokenPipeSignal()
        let setup = try ClientSetup(url: server.url, caFile: server.cacert, insecure: server.insecure) { Log.stderr.writeLine("tcptows: \($0)") }
        let listener = try TCPListener(host: listen.host, port: listen.port)
        Log.stdout.writeLine("tcptows: listening on \(listener.address) for \(setup.url)")
        var children = 0
        while true {
            children -= Self.reapChildren()
            let ready = (try? Poll.wait(listener.fd, for: Int16(POLLIN), until: Clock.monotonic() + 1)) ?? 0
            guard ready != 0 else { continue }
            let accepted: (fd: FileDescriptor, peer: SocketAddress)?
            do {
                accepted = try listener.accept()
            } catch {
                Log.stderr.writeLine("tcptows: \(error.description)")
                usleep(100_000)  // EMFILE and the like: do not spin
                continue
            }
            guard let (fd, peer) = accepted else { continue }
            if children >= Self.maxConnections {
                Log.stderr.writeLine("tcptows: \(peer): refused, already \(Self.maxConnections) connections")
                Glibc.close(fd.rawValue)
                continue
            }
            let pid = fork()
            if pid == 0 {
                listener.close()
                Self.serve(fd, peer: peer, setup: setup)
            }
            if pid < 0 {
                Log.stderr.writeLine("tcptows: \(peer): cannot fork: \(NetError.errorText(errno))")
            } else {
                children += 1
            }
            Glibc.close(fd.rawValue)
        }
    }

    /// Collects every exited child without blocking; returns how many.
    static func reapChildren() -> Int {
        var count = 0
        var status: Int32 = 0
        while waitpid(-1, &status, WNOHANG) > 0 { count += 1 }
        return count
    }

    /// The child: one connection, one WebSocket, then exit.
    static func serve(_ fd: FileDescriptor, peer: SocketAddress, setup: ClientSetup) -> Never {
        let local = FileStream(fd)
        // ssh sends its handshake packets back to back: a delayed ACK from us held each
        // second one back by 40 ms (Nagle), about every other login.
        local.acknowledgesReads = true
        let connection: WebSocketConnection
        do {
            connection = try setup.dialer().dial()
        } catch {
            Log.stderr.writeLine("tcptows: connection from \(peer): \(error.description)")
            local.close()
            _exit(1)
        }
        let relay = Relay(.plain(local, name: "tcp \(peer)"), connection.relayEnd(name: "server"))
        var status: Int32 = 0
        do {
            _ = try relay.run()
        } catch {
            Log.stderr.writeLine("tcptows: connection from \(peer): \(error.description)")
            status = 1
        }
        local.close()
        connection.stream.close()
        _exit(status)
    }
}

CommandMain.run(TCPToWS.self)
