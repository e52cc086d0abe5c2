import CShims
import ConvergeNet
import Glibc
import SystemPackage

/// The self-pipe the signal handlers write to (cshim_signal_pipe): SIGCHLD wakes the poll
/// loop to reap; SIGTERM, SIGINT and SIGHUP ask the session to end cleanly.
struct SignalPipe {
    let fd: FileDescriptor

    init() throws(SSHSessionError) {
        let readEnd = cshim_signal_pipe()
        guard readEnd >= 0 else { throw SSHSessionError("cannot watch signals: \(Errno(rawValue: errno))") }
        fd = FileDescriptor(rawValue: readEnd)
    }

    /// The signals delivered since the last call.
    func drain() -> [Int32] {
        var signals: [Int32] = []
        var bytes = [UInt8](repeating: 0, count: 64)
        while let n = try? bytes.withUnsafeMutableBytes({ try fd.read(into: $0) }), n > 0 {
            signals += bytes[0..<n].map { Int32($0) }
        }
        return signals
    }
}

/// Every child a session started. Each is a process group leader, so ending a group also
/// ends what it started (`sleep 30 &`). Reaping uses waitpid(-1): the session process is
/// a subreaper, so orphaned grandchildren come to it and must not stay zombies.
struct ChildRegistry {
    private(set) var running: Set<pid_t> = []
    private var groups: Set<pid_t> = []

    mutating func started(_ pid: pid_t) {
        running.insert(pid)
        groups.insert(pid)
    }

    /// Reaps every exited child; returns how ours ended (orphans are just reaped).
    mutating func reap() -> [(pid: pid_t, exit: ChildExit)] {
        var ended: [(pid: pid_t, exit: ChildExit)] = []
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            if running.remove(pid) != nil { ended.append((pid, ChildExit(waitStatus: status))) }
        }
        return ended
    }

    /// SIGHUP to every group, up to `grace` seconds for the leaders to exit, then SIGKILL
    /// to every group (stragglers that ignore SIGHUP), and reap everything.
    mutating func endAll(grace: Double, signals: SignalPipe) {
        guard !groups.isEmpty else { return }
        for group in groups { ChildLauncher.signalGroup(group, SIGHUP) }
        let deadline = Clock.monotonic() + grace
        while !running.isEmpty {
            let left = deadline - Clock.monotonic()
            if left <= 0 { break }
            var entry = pollfd(fd: signals.fd.rawValue, events: Int16(POLLIN), revents: 0)
            _ = poll(&entry, 1, Int32(left * 1000) + 1)
            _ = signals.drain()
            _ = reap()
        }
        for group in groups { ChildLauncher.signalGroup(group, SIGKILL) }
        for pid in running {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        running.removeAll()
        // Killed grandchildren are reparented to us (subreaper): reap them until no group
        // has a member left, zombies included, so nothing outlives the session.
        let reapDeadline = Clock.monotonic() + 1
        while Clock.monotonic() < reapDeadline {
            _ = reap()
            if groups.allSatisfy({ kill(-$0, 0) != 0 }) { break }
            usleep(10_000)
        }
        groups.removeAll()
    }
}
