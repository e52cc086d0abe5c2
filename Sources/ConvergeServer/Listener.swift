import CShims
import Glibc

/// The server's listening socket and address formatting for logs.
enum Listener {
    static func open(host: String, port: Int) throws(ServerError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let info = result else {
            throw ServerError("cannot listen on \(host):\(port): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError.system("socket") }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let error = ServerError("cannot listen on \(host):\(port): \(String(cString: strerror(errno)))")
            close(fd)
            throw error
        }
        guard listen(fd, 1024) == 0 else {
            close(fd)
            throw ServerError.system("listen")
        }
        return fd
    }

    /// `("203.0.113.7:51234", "203.0.113.7")` for a peer address.
    static func describe(_ address: sockaddr_storage) -> (peer: String, host: String) {
        var copy = address
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let port: UInt16
        switch Int32(copy.ss_family) {
        case AF_INET:
            port = withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                var a = p.pointee.sin_addr
                inet_ntop(AF_INET, &a, &text, socklen_t(text.count))
                return UInt16(bigEndian: p.pointee.sin_port)
            } }
            let host = String(cString: text)
            return ("\(host):\(port)", host)
        case AF_INET6:
            port = withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                var a = p.pointee.sin6_addr
                inet_ntop(AF_INET6, &a, &text, socklen_t(text.count))
                return UInt16(bigEndian: p.pointee.sin6_port)
            } }
            let host = String(cString: text)
            return ("[\(host)]:\(port)", host)
        default:
            return ("unknown", "unknown")
        }
    }

    /// Keystrokes must not wait for Nagle's algorithm.
    static func setNoDelay(_ fd: Int32) {
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    }
}
