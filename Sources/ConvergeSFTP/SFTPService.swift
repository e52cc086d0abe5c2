import Glibc
import SystemPackage

/// The SFTP server the agent runs for the `sftp` subsystem.
public enum SFTPService {
    /// Serves one SFTP session: reads requests from `input`, writes replies to `output`,
    /// until `input` reaches EOF or a protocol error ends the session. Blocking; the agent
    /// runs it in a forked child process whose stdin/stdout are a socketpair to the SSH channel.
    /// Paths are relative to the process's current directory (the agent's working directory).
    public static func serve(input: Int32, output: Int32) {
        var session = SFTPSession(input: FileDescriptor(rawValue: input), output: FileDescriptor(rawValue: output))
        if let reason = session.run() {
            writeDiagnostic("sftp: session ended: \(reason)\n")
        }
    }

    /// One line on stderr: the CI log in the agent, the user's terminal under `sftp -D`.
    private static func writeDiagnostic(_ line: String) {
        var line = line
        line.withUTF8 { bytes in _ = Glibc.write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
    }
}

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
    let inbox = SFTPInputBuffer()
    let outbox = SFTPByteBuffer(capacity: flushThreshold + SFTPLimits.maximumReadLength + 4096)
    var handler = SFTPRequestHandler()

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
            let written = Glibc.write(output.rawValue, pending.baseAddress, pending.count)
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
