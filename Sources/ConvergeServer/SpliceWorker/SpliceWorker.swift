import CShims
import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// The worker process: forked from the master ahead of time, it sheds every inherited
/// descriptor, waits for one session's two sockets over SCM_RIGHTS, forwards the
/// session's bytes between them until both sides close, reports the bytes, and exits.
enum SpliceWorker {
    static let controlFD = FileDescriptor(rawValue: 3)

    static func main(control: FileDescriptor, options: SpliceTunnel.Options) -> Never {
        // Keep only the control socket, as fd 3: nothing of other sessions stays reachable.
        if control != controlFD {
            dup2(control.rawValue, controlFD.rawValue)
        }
        cshim_closefrom(controlFD.rawValue + 1)
        Signals.resetInChild()
        signal(SIGPIPE, SIG_IGN)
        cshim_set_proctitle("converge: spare worker")

        // Nothing (EOF): the master went away or dropped its spare.
        guard let message = try? FDPassing.receive(from: controlFD, maxFDs: 2), message.fds.count == 2,
              let handOff = try? HandOff(decoding: message.payload[...]) else { exit(0) }
        cshim_set_proctitle("converge: session \(LogText.escaped(handOff.id))")
        let reason = relaySession(client: message.fds[0], agent: message.fds[1], handOff: handOff, options: options)
        exit(reason == nil ? 0 : 1)
    }
}

extension SpliceWorker {
    /// How often a worker reports its running byte counts to the master (for /metrics).
    static let reportInterval = 2.0

    /// Forwards one session verbatim; returns nil on a clean end, else why it ended.
    /// The agent learns of its client from one text frame written ahead of the
    /// client's bytes; from then on the client's frames reach the agent as they are,
    /// and the agent's reach the client (docs/protocol.md, "the session").
    static func relaySession(client: FileDescriptor, agent: FileDescriptor, handOff: HandOff, options: SpliceTunnel.Options) -> String? {
        Socket.ignoreBrokenPipeSignal()
        let announce = WebSocketFrameHeader.frame(.text, payload: Array("session client=\(handOff.clientPeer)".utf8), maskKey: nil)
        let tunnel = SpliceTunnel(a: client, b: agent, prefixToA: handOff.agentBytes,
                                  prefixToB: announce + handOff.clientBytes, options: options)
        tunnel.onTick(every: reportInterval) {
            report(WorkerReport(clientToAgent: tunnel.bytesAToB, agentToClient: tunnel.bytesBToA))
        }
        let ending = tunnel.run()
        let who = ending.side == .a ? "client" : "agent"
        let text = ending.error.map { "\(who): \($0.description)" } ?? "the \(who) closed the connection"
        report(WorkerReport(clientToAgent: tunnel.bytesAToB, agentToClient: tunnel.bytesBToA, endReason: text))
        try? client.close()
        try? agent.close()
        return ending.error == nil ? nil : text
    }

    private static func report(_ report: WorkerReport) {
        let line = Array(report.line.utf8)
        _ = line.withUnsafeBytes { send(controlFD.rawValue, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
    }
}
