import CLibSSH
import CShims
import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// A `direct-tcpip` channel (ssh -L): a TCP connection pumped both ways. Each side's
/// EOF is passed on (half-close); the channel closes when both directions are done.
final class ForwardChannel: ServedChannel {
    unowned let server: SSHServerSession
    let pump: ChannelPump
    let number: Int
    let target: String
    var installation: UnsafeMutableRawPointer?

    private var connector: TCPConnector
    /// The socket while a connect is still in progress.
    private(set) var pendingConnect: FileDescriptor?
    private var sentEOF = false
    private(set) var released = false

    init(server: SSHServerSession, channel: OpaquePointer, number: Int, target: String,
         connector: TCPConnector, progress: TCPConnector.Progress) {
        self.server = server
        self.pump = ChannelPump(channel: channel)
        self.number = number
        self.target = target
        self.connector = connector
        switch progress {
        case .connected(let fd): attach(fd)
        case .inProgress(let fd): pendingConnect = fd
        case .failed: break
        }
    }

    private func attach(_ fd: FileDescriptor) {
        Socket.setNoDelay(fd)
        pump.attach(input: fd, end: .shutdownWrite, outputs: [(fd, false)], owned: [fd])
    }

    /// POLLOUT on the connecting socket.
    func connectProgressed() {
        guard let fd = pendingConnect else { return }
        pendingConnect = nil
        switch connector.finish(fd) {
        case .connected(let socket):
            attach(socket)
        case .inProgress(let socket):
            pendingConnect = socket
        case .failed(let reason):
            server.log("channel \(number): forward to \(target) failed: \(reason)")
            finish()
        }
    }

    func housekeeping(now: Double) -> Bool {
        if released { return true }
        if pump.clientGone {
            release()
            return true
        }
        if pendingConnect != nil { return false }
        pump.flushToClient()
        pump.closeInputIfDue()
        if !sentEOF && pump.outputsFinished {
            sentEOF = true
            _ = ssh_channel_send_eof(pump.channel)
        }
        if sentEOF && pump.inputDone {
            finish()
            return true
        }
        return false
    }

    private func finish() {
        detachCallbacks()
        _ = ssh_channel_close(pump.channel)
        release()
    }

    /// A forward carries no notices: it just closes.
    func closeForShutdown(message: [UInt8]?) { release() }

    func release() {
        guard !released else { return }
        released = true
        detachCallbacks()
        ssh_channel_free(pump.channel)
        abandon()
    }

    func abandon() {
        released = true
        detachCallbacks()
        try? pendingConnect?.close()
        pendingConnect = nil
        pump.closeDescriptors()
    }

    private func detachCallbacks() {
        if let installation {
            cshim_ssh_remove_channel_callbacks(UnsafeMutableRawPointer(pump.channel), installation)
            self.installation = nil
        }
    }
}
