import CShims
import Glibc

/// SIGTERM, SIGINT and SIGCHLD arrive as readable events on a signalfd, so the master's
/// single loop handles them like any socket (no async-signal-safety puzzles).
enum Signals {
    static let handled: [Int32] = [SIGTERM, SIGINT, SIGCHLD]

    static func openSignalFD() throws(ServerError) -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        for s in handled { sigaddset(&set, s) }
        sigprocmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
        let fd = signalfd(-1, &set, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        guard fd >= 0 else { throw ServerError.system("signalfd") }
        return fd
    }

    /// Undoes the mask in a forked worker, which handles signals the ordinary way.
    static func resetInChild() {
        var set = sigset_t()
        sigemptyset(&set)
        sigprocmask(SIG_SETMASK, &set, nil)
        for s in handled { signal(s, SIG_DFL) }
    }

    static func read(_ fd: Int32) -> [Int32] {
        var received: [Int32] = []
        var info = signalfd_siginfo()
        while Glibc.read(fd, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            received.append(Int32(info.ssi_signo))
        }
        return received
    }
}
