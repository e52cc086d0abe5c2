import Glibc
import SystemPackage

/// A `ByteStream` over plain descriptors: a socket (one fd both ways) or a pair such as
/// stdin/stdout. The descriptors are made non-blocking; `restoreFlags()` undoes that
/// for descriptors shared with other processes (a terminal).
public final class FileStream: ByteStream {
    public let readFD: FileDescriptor
    public let writeFD: FileDescriptor
    public var hasBufferedInput: Bool { false }

    // send(MSG_NOSIGNAL) on sockets, so a vanished peer is EPIPE even without SIG_IGN.
    private let writeIsSocket: Bool
    private let originalFlags: (read: Int32, write: Int32)
    private var writeClosed = false

    /// A socket (or any descriptor) used both ways.
    public convenience init(_ fd: FileDescriptor) {
        self.init(read: fd, write: fd)
    }

    /// Separate descriptors for each direction (stdin, stdout).
    /// Acknowledge every read at once (a TCP socket whose peer is an SSH client: see
    /// `Socket.acknowledgeNow`). One setsockopt per read; off by default.
    public var acknowledgesReads = false

    public init(read: FileDescriptor, write: FileDescriptor) {
        readFD = read
        writeFD = write
        writeIsSocket = Socket.isSocket(write)
        originalFlags = (fcntl(read.rawValue, F_GETFL), fcntl(write.rawValue, F_GETFL))
        try? Socket.setNonBlocking(read)
        try? Socket.setNonBlocking(write)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(NetError) -> StreamIO {
        while true {
            let n = Glibc.read(readFD.rawValue, buffer.baseAddress, buffer.count)
            if n > 0 {
                if acknowledgesReads { Socket.acknowledgeNow(readFD) }
                return .bytes(n)
            }
            if n == 0 { return .end }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock(readable: true)
            default: throw NetError.system(.io, "read")
            }
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(NetError) -> StreamIO {
        guard !writeClosed else { throw NetError(.io, "write after shutdown", code: EPIPE) }
        while true {
            let n = writeIsSocket
                ? send(writeFD.rawValue, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
                : Glibc.write(writeFD.rawValue, bytes.baseAddress, bytes.count)
            if n >= 0 { return .bytes(n) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock(readable: false)
            default: throw NetError.system(.io, "write")
            }
        }
    }

    /// A socket gets shutdown(SHUT_WR); a separate output descriptor (a pipe) is closed,
    /// which is the only way to give its reader an end of file.
    public func shutdownWrite() {
        guard !writeClosed else { return }
        if writeIsSocket {
            Glibc.shutdown(writeFD.rawValue, Int32(SHUT_WR))
        } else if writeFD != readFD {
            restore(writeFD, originalFlags.write)
            Glibc.close(writeFD.rawValue)
            writeClosed = true
        }
    }

    public func close() {
        if !writeClosed && writeFD != readFD { Glibc.close(writeFD.rawValue) }
        Glibc.close(readFD.rawValue)
        writeClosed = true
    }

    /// Puts back the file status flags found at init (blocking mode for a shared tty).
    public func restoreFlags() {
        restore(readFD, originalFlags.read)
        if !writeClosed { restore(writeFD, originalFlags.write) }
    }

    private func restore(_ fd: FileDescriptor, _ flags: Int32) {
        if flags >= 0 { _ = fcntl(fd.rawValue, F_SETFL, flags) }
    }
}
