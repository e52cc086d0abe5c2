import CShims
import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// The worker process: forked from the master ahead of time, it sheds every inherited
/// descriptor, waits for one session's two sockets over SCM_RIGHTS, relays frames
/// between them until either side closes, reports the bytes, and exits.
enum SpliceWorker {
    static let controlFD: Int32 = 3

    static func main(control: Int32) -> Never {
        // Keep only the control socket, as fd 3: nothing of other sessions stays reachable.
        if control != controlFD {
            dup2(control, controlFD)
        }
        cshim_closefrom(controlFD + 1)
        Signals.resetInChild()
        signal(SIGPIPE, SIG_IGN)
        cshim_set_proctitle("converge: spare worker")

        var fds: [Int32] = [-1, -1]
        var count: Int32 = 0
        var payload = [UInt8](repeating: 0, count: 65536)
        let n = fds.withUnsafeMutableBufferPointer { f in
            payload.withUnsafeMutableBytes { p in cshim_recv_fds(controlFD, f.baseAddress, 2, &count, p.baseAddress, p.count) }
        }
        // EOF: the master went away or dropped its spare.
        guard n > 0, count == 2, let handOff = try? HandOff(decoding: payload[0..<n]) else { exit(0) }
        cshim_set_proctitle("converge: session \(LogText.escaped(handOff.id))")
        let reason = relaySession(client: fds[0], agent: fds[1], handOff: handOff)
        exit(reason == nil ? 0 : 1)
    }
}

extension SpliceWorker {
    /// How often a worker reports its running byte counts to the master (for /metrics).
    static let reportInterval = 2.0

    /// Relays one session; returns nil on a clean end, else why it ended.
    static func relaySession(client: Int32, agent: Int32, handOff: HandOff) -> String? {
        Socket.ignoreBrokenPipeSignal()
        let clientStream = FileStream(FileDescriptor(rawValue: client))
        let agentStream = FileStream(FileDescriptor(rawValue: agent))
        // Client leg: RFC 6455 from the server's side. Agent leg: docs/protocol.md.
        let relay = Relay(
            .webSocket(clientStream, name: "client", masksOutgoing: false, incoming: .required, pending: handOff.clientBytes),
            .webSocket(agentStream, name: "agent", masksOutgoing: false, incoming: .any, pending: handOff.agentBytes))
        relay.sendText("session client=\(handOff.clientPeer)", to: .b)
        relay.onTick(every: reportInterval) {
            report(WorkerReport(clientToAgent: relay.bytesAToB, agentToClient: relay.bytesBToA))
        }
        var reason: String? = nil
        let ending: String
        do {
            switch try relay.run() {
            case .closed(let side, let code, _): ending = "closed by the \(side == .a ? "client" : "agent")\(code.map { " (\($0))" } ?? "")"
            case .endOfInput(let side): ending = "the \(side == .a ? "client" : "agent") went away"
            case .stopped: ending = "stopped"
            }
        } catch {
            ending = error.description
            reason = error.description
        }
        report(WorkerReport(clientToAgent: relay.bytesAToB, agentToClient: relay.bytesBToA, endReason: ending))
        clientStream.close()
        agentStream.close()
        return reason
    }

    private static func report(_ report: WorkerReport) {
        let line = Array(report.line.utf8)
        _ = line.withUnsafeBytes { send(controlFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
    }
}
