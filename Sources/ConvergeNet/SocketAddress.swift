import Glibc

/// A socket address (IPv4, IPv6 or Unix) as the kernel sees it, printable as
/// `127.0.0.1:8000` or `[::1]:8000` for logs and error messages.
public struct SocketAddress: Sendable, CustomStringConvertible {
    public var storage: sockaddr_storage
    public var length: socklen_t

    public init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    public var family: Int32 { Int32(storage.ss_family) }

    /// Calls `body` with the address as a `sockaddr` pointer (for bind/connect).
    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// The numeric host (`::1`, `192.0.2.7`) without brackets, and the port.
    public var hostAndPort: (host: String, port: Int) {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: 32)
        let rc = withSockaddr { address, length in
            getnameinfo(address, length, &host, socklen_t(host.count), &service, socklen_t(service.count),
                        NI_NUMERICHOST | NI_NUMERICSERV)
        }
        guard rc == 0 else { return ("?", 0) }
        let hostText = host.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let portText = service.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return (hostText, Int(portText) ?? 0)
    }

    public var port: Int { hostAndPort.port }

    public var description: String {
        if family == AF_UNIX { return "unix" }
        let (host, port) = hostAndPort
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// `host:port` for a name and port as given (brackets added around IPv6 literals).
    public static func display(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
