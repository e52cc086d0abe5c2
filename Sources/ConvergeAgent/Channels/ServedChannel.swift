import Glibc
import SystemPackage

/// A channel the session serves, whatever its kind (`session`, `direct-tcpip`): what the
/// poll loop, the child reaper and the agent's controls need of it. A new kind of channel
/// conforms here and is appended to `SSHServerSession.channels` when it opens; the loop
/// needs no new case.
protocol ServedChannel: AnyObject {
    /// Moves the bytes between the SSH channel and the local descriptors.
    var pump: ChannelPump { get }
    /// Freed (or abandoned): the session drops it.
    var released: Bool { get }

    /// A socket still connecting, to poll for POLLOUT instead of the pump's descriptors.
    var pendingConnect: FileDescriptor? { get }
    /// POLLOUT on `pendingConnect`.
    func connectProgressed()
    /// A deadline the poll loop must wake up for, if any.
    var wakeDeadline: Double? { get }

    /// Advances the channel after each turn of the loop; returns true once it is
    /// released and can be dropped.
    func housekeeping(now: Double) -> Bool
    /// A child of the session ended (the channel checks whether it was its own).
    func childExited(pid: pid_t, _ status: ChildExit)

    /// A shell: the agent's shell-only notices reach it.
    var isShell: Bool { get }
    /// Queues an agent notice for the client's stdout, where the channel takes them.
    func announce(_ bytes: [UInt8])

    /// The agent closes everything: `message` (if any) last, then the channel closes.
    func closeForShutdown(message: [UInt8]?)
    /// Leaves libssh's channel to ssh_free (the session is gone): only our side.
    func abandon()
}

/// What a channel without children, notices or a connect in progress does: nothing.
extension ServedChannel {
    var pendingConnect: FileDescriptor? { nil }
    func connectProgressed() {}
    var wakeDeadline: Double? { nil }
    func childExited(pid: pid_t, _ status: ChildExit) {}
    var isShell: Bool { false }
    func announce(_ bytes: [UInt8]) {}
}
