import CShims
import ConvergeClient
import ConvergeNet
import Glibc
import SystemPackage

/// One client's session, in its own process (forked from the single-threaded agent):
/// a relay process pumps the WebSocket ⇄ a socketpair, and this process runs the SSH
/// server on the socketpair's other end. Either dying ends only this client's session.
enum AgentSessionProcess {
    /// Forks the session process and returns its pid; the caller closes its copy of the
    /// connection (without a TLS shutdown: the child owns the TLS state now).
    static func start(_ connection: WebSocketConnection, configuration: SSHServerConfiguration, client: String) -> pid_t {
        let pid = fork()
        guard pid == 0 else { return pid }
        cshim_set_proctitle("agent: session for \(client)")
        exit(serve(connection, configuration: configuration, client: client))
    }

    private static func serve(_ connection: WebSocketConnection, configuration: SSHServerConfiguration, client: String) -> Int32 {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            configuration.log.write("session for \(client): socketpair failed: \(String(cString: strerror(errno)))")
            return 1
        }
        let pump = fork()
        if pump == 0 {
            close(pair[0])
            cshim_set_proctitle("agent: relay for \(client)")
            Socket.ignoreBrokenPipeSignal()
            let ssh = FileStream(FileDescriptor(rawValue: pair[1]))
            let relay = Relay(.plain(ssh, name: "ssh"), connection.relayEnd(name: "server"))
            do { _ = try relay.run() } catch {
                configuration.log.write("session for \(client): connection to the server ended: \(error.description)")
            }
            exit(0)
        }
        close(pair[1])
        connection.stream.close()
        guard pump > 0 else {
            configuration.log.write("session for \(client): fork failed: \(String(cString: strerror(errno)))")
            return 1
        }
        let session = SSHServerSession(socket: pair[0], configuration: configuration)
        session.run()
        close(pair[0])
        reapRelay(pump)
        return 0
    }

    /// The relay sees end of file once the SSH side closes; give it a moment to send its
    /// close frame, then make sure it is gone.
    private static func reapRelay(_ pid: pid_t) {
        var status: Int32 = 0
        for _ in 0..<30 {
            if waitpid(pid, &status, WNOHANG) != 0 { return }
            usleep(100_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }
}
