import Glibc
import SystemPackage

/// The I/O around `SFTPRequestHandler`: buffered reads of whole packets, replies
/// gathered and written in large writes.
struct SFTPSession {
    /// Replies are written once this much has gathered, and always before the next
    /// read. A DATA reply is bigger than this, so it leaves as soon as it is made and
    /// the client can write it out while we `pread` the next; small replies (write
    /// acknowledgements, stats) to everything that arrived together leave in one write,
    /// and a pipelining client gets them while it is still sending.
    static let flushThreshold = 64 * 1024

    let input: FileDescriptor
    let output: FileDescriptor
    /// In the agent the output is a socket: `send` with MSG_NOSIGNAL turns a vanished
    /// client into EPIPE instead of a SIGPIPE that would kill the process.
    let outputIsSocket: Bool
    let inbox = SFTPInputBuffer()
    let outbox = SFTPByteBuffer(capacity: flushThreshold + SFTPLimits.maximumReadLength + 4096)
    var handler = SFTPRequestHandler()

    init(input: FileDescriptor, output: FileDescriptor) {
        self.input = input
        self.output = output
        var status = stat()
        outputIsSocket = fstat(output.rawValue, &status) == 0 && status.st_mode & S_IFMT == S_IFSOCK
    }

    /// Runs until the client hangs up (returns nil) or the session fails (returns why).
    mutating func run() -> String? {
        defer { handler.closeAllHandles() }
        while true {
            do throws(SFTPDecodeError) {
                while let packet = try inbox.nextPacket() {
                    if case .endSession(let reason) = handler.handle(packet: packet, replyingInto: outbox) {
                        _ = flush()
                        return reason
                    }
                    if outbox.count >= Self.flushThreshold, let failure = flush() { return failure }
                }
            } catch {
                _ = flush()
                return error.message
            }
            if outbox.count > 0, let failure = flush() { return failure }
            do throws(Errno) {
                let received = try inbox.fill { (space) throws(Errno) in try readInput(into: space) }
                if received == 0 {
                    _ = flush()
                    return nil
                }
            } catch {
                return "reading requests: \(error)"
            }
        }
    }

    private func readInput(into space: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        while true {
            let received = Glibc.read(input.rawValue, space.baseAddress, space.count)
            if received >= 0 { return received }
            let failure = Errno(rawValue: errno)
            if failure != .interrupted { throw failure }
        }
    }

    /// Writes every gathered reply; returns why it could not, if it could not.
    private func flush() -> String? {
        var pending = outbox.readableBytes
        defer { outbox.removeAll() }
        while !pending.isEmpty {
            let written =
                outputIsSocket
                ? send(output.rawValue, pending.baseAddress, pending.count, Int32(MSG_NOSIGNAL))
                : Glibc.write(output.rawValue, pending.baseAddress, pending.count)
            if written < 0 {
                let failure = Errno(rawValue: errno)
                if failure == .interrupted { continue }
                return "writing replies: \(failure)"
            }
            pending = UnsafeRawBufferPointer(rebasing: pending[written...])
        }
        return nil
    }
}
