import CShims
import ConvergeNet
import ConvergeWire
import Glibc

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
    /// Relays one session; returns nil on a clean end, else why it ended.
    static func relaySession(client: Int32, agent: Int32, handOff: HandOff) -> String? {
        // Until the shared relay lands (ConvergeClient), a worker ends its session at once.
        close(client)
        close(agent)
        return "relay not available"
    }
}
