import CShims
import Glibc
import SystemPackage

/// Signals delivered as readable events on a descriptor (signalfd(2)), so a process's
/// single poll loop handles them like any socket: no handlers, no async-signal-safety
/// puzzles, nothing shared with forked children.
///
///     let signals = try SignalFD([SIGTERM, SIGINT])
///     ... poll signals.descriptor for POLLIN ...
///     for signal in signals.read() { ... }
public struct SignalFD: Sendable {
    /// The signals it reports (blocked for the whole process while it is open).
    public let signals: [Int32]
    /// Non-blocking and close-on-exec.
    public let descriptor: FileDescriptor

    /// Blocks `signals` for the process (sigprocmask) and opens a signalfd for them.
    public init(_ signals: [Int32]) throws(NetError) {
        var set = SignalFD.set(of: signals)
        sigprocmask(SIG_BLOCK, &set, nil)
        let fd = signalfd(-1, &set, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        guard fd >= 0 else { throw NetError.system(.io, "signalfd") }
        self.signals = signals
        descriptor = FileDescriptor(rawValue: fd)
    }

    /// One opened earlier by `init(_:)`, when a caller kept only its descriptor.
    public init(adopting descriptor: FileDescriptor, for signals: [Int32]) {
        self.signals = signals
        self.descriptor = descriptor
    }

    /// The signals that arrived since the last read, oldest first; empty when none.
    public func read() -> [Int32] {
        var received: [Int32] = []
        var info = signalfd_siginfo()
        let size = MemoryLayout<signalfd_siginfo>.size
        while Glibc.read(descriptor.rawValue, &info, size) == size {
            received.append(Int32(info.ssi_signo))
        }
        return received
    }

    /// In a forked child: `signals` unblocked and back to their default action. The mask
    /// survives exec, and a shell must not start with SIGINT blocked.
    public static func resetInChild(_ signals: [Int32]) {
        var set = SignalFD.set(of: signals)
        sigprocmask(SIG_UNBLOCK, &set, nil)
        for s in signals { signal(s, SIG_DFL) }
    }

    private static func set(of signals: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        return set
    }
}
