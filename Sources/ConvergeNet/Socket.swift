import Glibc
import SystemPackage

/// Descriptor settings every socket of ours gets, and socket pairs.
///
/// Why: non-blocking so one poll loop can serve several sockets without a stall;
/// close-on-exec so a shell the agent spawns never inherits a connection; TCP_NODELAY
/// because SSH keystrokes are tiny writes that Nagle's algorithm would hold back.
public enum Socket {
    public static func setNonBlocking(_ fd: FileDescriptor, _ on: Bool = true) throws(NetError) {
        let flags = fcntl(fd.rawValue, F_GETFL)
        guard flags >= 0 else { throw NetError.system(.io, "fcntl(F_GETFL)") }
        let wanted = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        if wanted != flags && fcntl(fd.rawValue, F_SETFL, wanted) < 0 { throw NetError.system(.io, "fcntl(F_SETFL)") }
    }

    public static func setCloseOnExec(_ fd: FileDescriptor) throws(NetError) {
        let flags = fcntl(fd.rawValue, F_GETFD)
        guard flags >= 0, fcntl(fd.rawValue, F_SETFD, flags | FD_CLOEXEC) >= 0 else {
            throw NetError.system(.io, "fcntl(F_SETFD)")
        }
    }

    /// TCP_NODELAY; ignored quietly on sockets that are not TCP.
    public static func setNoDelay(_ fd: FileDescriptor) {
        var on: Int32 = 1
        _ = setsockopt(fd.rawValue, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Acknowledges what arrives at once instead of after up to 40 ms (TCP_QUICKACK). The
    /// kernel drops back to delayed ACKs by itself, so this holds until the next read.
    /// Why it matters: a client that sends two small packets in a row (an SSH key
    /// exchange) holds the second back (Nagle) until the first is acknowledged.
    public static func acknowledgeNow(_ fd: FileDescriptor) {
        var on: Int32 = 1
        _ = setsockopt(fd.rawValue, Int32(IPPROTO_TCP), TCP_QUICKACK, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    /// TCP keepalive probes after `idle` seconds of quiet, and TCP_USER_TIMEOUT, so that
    /// a peer that vanished without a word (cable cut, VM gone) turns into an error on
    /// the socket within about `deadAfter` seconds. Ignored quietly on non-TCP sockets.
    public static func setKeepalive(_ fd: Int32, idle: Double, deadAfter: Double) {
        let idleSeconds = max(1, Int32(idle))
        let interval = max(1, min(idleSeconds, Int32(max(1, deadAfter - idle) / 4)))
        let count = max(1, Int32(((deadAfter - Double(idleSeconds)) / Double(interval)).rounded(.up)))
        let userTimeoutMs = Int32(min(deadAfter * 1000, Double(Int32.max)))
        let size = socklen_t(MemoryLayout<Int32>.size)
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, size)
        for (option, value) in [(TCP_KEEPIDLE, idleSeconds), (TCP_KEEPINTVL, interval), (TCP_KEEPCNT, count),
                                (Int32(18) /* TCP_USER_TIMEOUT */, userTimeoutMs)] {
            var v = value
            _ = setsockopt(fd, Int32(IPPROTO_TCP), option, &v, size)
        }
    }

    /// Grows a pipe's kernel buffer (F_SETPIPE_SZ; a no-op on anything else): bulk
    /// transfers through ssh's stdio pipes then wake the relay far less often.
    public static func growPipe(_ fd: FileDescriptor, to bytes: Int32 = 1 << 20) {
        var info = stat()
        guard fstat(fd.rawValue, &info) == 0, (info.st_mode & S_IFMT) == S_IFIFO else { return }
        _ = fcntl(fd.rawValue, 1031 /* F_SETPIPE_SZ, not imported by Glibc */, bytes)
    }

    public static func isSocket(_ fd: FileDescriptor) -> Bool {
        var info = stat()
        return fstat(fd.rawValue, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
    }

    public enum PairKind: Sendable {
        /// A byte stream (the agent's SSH side of a relay, tests).
        case stream
        /// Message boundaries kept: one `sendmsg` is one `recvmsg` (fd passing).
        case seqpacket
    }

    /// A connected pair of Unix sockets, both close-on-exec and blocking.
    public static func pair(_ kind: PairKind = .stream) throws(NetError) -> (FileDescriptor, FileDescriptor) {
        var fds: [Int32] = [-1, -1]
        let type = (kind == .stream ? SOCK_STREAM : SOCK_SEQPACKET).rawValue | SOCK_CLOEXEC.rawValue
        guard socketpair(AF_UNIX, Int32(type), 0, &fds) == 0 else { throw NetError.system(.io, "socketpair") }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }

    /// Ignores SIGPIPE for the whole process. Call it once in any program that relays:
    /// a peer that goes away must show up as EPIPE on a write, not kill the process
    /// (OpenSSL writes to its socket with plain `write`, so MSG_NOSIGNAL cannot help there).
    public static func ignoreBrokenPipeSignal() {
        signal(SIGPIPE, SIG_IGN)
    }
}

/// Waiting on one descriptor with a deadline on the monotonic clock (`Clock.monotonic()`).
public enum Poll {
    /// Waits until `fd` reports any of `events` (or an error/hang-up) or `deadline` passes.
    /// Returns the reported events, 0 on timeout. EINTR restarts the wait.
    public static func wait(_ fd: FileDescriptor, for events: Int16, until deadline: Double) throws(NetError) -> Int16 {
        while true {
            var entry = pollfd(fd: fd.rawValue, events: events, revents: 0)
            let rc = Glibc.poll(&entry, 1, milliseconds(until: deadline))
            if rc < 0 {
                if errno == EINTR { continue }
                throw NetError.system(.io, "poll")
            }
            return rc == 0 ? 0 : entry.revents
        }
    }

    /// A poll(2) timeout for an absolute monotonic deadline: never negative, rounded up
    /// so a wake-up never comes a millisecond early and spins.
    public static func milliseconds(until deadline: Double) -> Int32 {
        let remaining = deadline - Clock.monotonic()
        if remaining <= 0 { return 0 }
        return Int32(min(remaining * 1000 + 0.999, Double(Int32.max)))
    }
}
