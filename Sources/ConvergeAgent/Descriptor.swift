import Glibc

/// The outcome of one non-blocking read or write on a descriptor.
enum IOResult: Equatable {
    case done(Int)
    case wouldBlock
    /// Read: end of file (or EIO on a pty master whose slave side is gone).
    case endOfFile
    case failed(Int32)
}

/// Thin non-blocking I/O on raw descriptors (Glibc, no Foundation).
enum Descriptor {
    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    static func setCloseOnExec(_ fd: Int32) {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n > 0 { return .done(n) }
            if n == 0 { return .endOfFile }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case EIO: return .endOfFile
            default: return .failed(errno)
            }
        }
    }

    static func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) -> IOResult {
        if buffer.isEmpty { return .done(0) }
        while true {
            let n = Glibc.write(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return .done(n) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed(errno)
            }
        }
    }

    static func close(_ fd: inout Int32) {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    static func errorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
