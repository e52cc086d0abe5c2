import Glibc
import SystemPackage

/// What a non-blocking read or write achieved.
public enum StreamIO: Equatable, Sendable {
    /// This many bytes (> 0) were read or written.
    case bytes(Int)
    /// Nothing now: poll the descriptor for `readable` (POLLIN) or writable (POLLOUT)
    /// before retrying. TLS may need to write to read and read to write, so a read can
    /// ask for POLLOUT and a write for POLLIN.
    case wouldBlock(readable: Bool)
    /// End of stream (reads only).
    case end
}

/// A non-blocking byte stream: a plain descriptor (`FileStream`) or TLS over a socket
/// (`TLSStream`). The relay and the dialer only see this.
///
/// A stream never closes itself (not even in deinit): processes here fork, and a
/// descriptor closed behind the owner's back is a bug that is hard to find.
public protocol ByteStream: AnyObject {
    /// Descriptor to poll for reads.
    var readFD: FileDescriptor { get }
    /// Descriptor to poll for writes (the same as `readFD` for sockets).
    var writeFD: FileDescriptor { get }
    /// True when bytes are buffered inside the stream (TLS), so a read will succeed
    /// even though poll says nothing.
    var hasBufferedInput: Bool { get }

    /// Reads up to `buffer.count` bytes. Throws on errors such as a reset connection.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(NetError) -> StreamIO
    /// Writes a prefix of `bytes` (possibly all of it). A write the stream reported as
    /// `wouldBlock` must be retried with the same bytes first (TLS requires it).
    func write(_ bytes: UnsafeRawBufferPointer) throws(NetError) -> StreamIO
    /// Signals end of output to the peer where the stream can (half-close); best effort.
    func shutdownWrite()
    /// Releases the stream's descriptors (and TLS state).
    func close()
}

extension ByteStream {
    /// Writes all of `bytes`, polling as needed, or throws when `deadline` passes.
    /// For short exchanges before relaying (HTTP heads, CONNECT, a close frame).
    public func writeAll(_ bytes: UnsafeRawBufferPointer, deadline: Double) throws(NetError) {
        var offset = 0
        while offset < bytes.count {
            switch try write(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
            case .bytes(let n): offset += n
            case .end: throw NetError(.io, "connection closed while writing")
            case .wouldBlock(let readable):
                let fd = readable ? readFD : writeFD
                guard try Poll.wait(fd, for: Int16(readable ? POLLIN : POLLOUT), until: deadline) != 0 else {
                    throw NetError(.timeout, "timed out writing", code: ETIMEDOUT)
                }
            }
        }
    }

    public func writeAll(_ bytes: [UInt8], deadline: Double) throws(NetError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(NetError) in try writeAll(raw, deadline: deadline) }
        }
        try result.get()
    }

    /// Reads what is available (at least one byte), waiting until `deadline`.
    /// Returns 0 at end of stream; throws `.timeout` when the deadline passes first.
    public func readSome(into buffer: UnsafeMutableRawBufferPointer, deadline: Double) throws(NetError) -> Int {
        while true {
            switch try read(into: buffer) {
            case .bytes(let n): return n
            case .end: return 0
            case .wouldBlock(let readable):
                let fd = readable ? readFD : writeFD
                guard try Poll.wait(fd, for: Int16(readable ? POLLIN : POLLOUT), until: deadline) != 0 else {
                    throw NetError(.timeout, "timed out waiting for data", code: ETIMEDOUT)
                }
            }
        }
    }
}
