import Glibc
import SystemPackage

/// A non-blocking TCP connect to host:port for `direct-tcpip` (ssh -L). Resolution uses
/// getaddrinfo (blocking, but immediate for numeric addresses and /etc/hosts names);
/// each address is tried in turn until one connects.
struct TCPConnector {
    enum Progress: Equatable {
        case connected(FileDescriptor)
        case inProgress(FileDescriptor)
        case failed(String)
    }

    private var addresses: [[UInt8]] = []
    private var lastError = "no address"

    /// Resolves and starts connecting; `failed` if nothing could even start.
    static func start(host: String, port: Int) -> (TCPConnector, Progress) {
        var connector = TCPConnector()
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        // No AI_ADDRCONFIG: a container with only loopback would get no address for localhost.
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let list else {
            return (connector, .failed("cannot resolve: \(String(cString: gai_strerror(rc)))"))
        }
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let e = entry {
            if let address = e.pointee.ai_addr {
                connector.addresses.append(Array(UnsafeRawBufferPointer(start: address, count: Int(e.pointee.ai_addrlen))))
            }
            entry = e.pointee.ai_next
        }
        freeaddrinfo(list)
        return (connector, connector.tryNext())
    }

    /// After POLLOUT on an in-progress socket: connected, or on to the next address.
    mutating func finish(_ fd: FileDescriptor) -> Progress {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd.rawValue, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0 { return .connected(fd) }
        lastError = Errno(rawValue: error == 0 ? errno : error).description
        try? fd.close()
        return tryNext()
    }

    private mutating func tryNext() -> Progress {
        while !addresses.isEmpty {
            let address = addresses.removeFirst()
            let family = address.withUnsafeBytes { $0.load(as: sa_family_t.self) }
            let fd = socket(Int32(family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if fd < 0 { lastError = Errno(rawValue: errno).description; continue }
            let rc = address.withUnsafeBytes { connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count)) }
            if rc == 0 { return .connected(FileDescriptor(rawValue: fd)) }
            if errno == EINPROGRESS { return .inProgress(FileDescriptor(rawValue: fd)) }
            lastError = Errno(rawValue: errno).description
            _ = close(fd)
        }
        return .failed(lastError)
    }

    /// Waits up to `milliseconds` for an in-progress connect (loopback and LAN answers
    /// arrive in microseconds, so most refusals become a proper open failure).
    mutating func settle(_ progress: Progress, milliseconds: Int32) -> Progress {
        var current = progress
        let deadline = Double(milliseconds) / 1000
        var waited = 0.0
        while case .inProgress(let fd) = current, waited < deadline {
            var entry = pollfd(fd: fd.rawValue, events: Int16(POLLOUT), revents: 0)
            var start = timespec()
            clock_gettime(CLOCK_MONOTONIC, &start)
            let left = Int32((deadline - waited) * 1000)
            let rc = poll(&entry, 1, max(1, left))
            var end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &end)
            waited += Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
            if rc > 0 { current = finish(fd) } else if rc == 0 { break }
        }
        return current
    }
}
