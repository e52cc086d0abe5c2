import Glibc
import SystemPackage

/// A listening TCP socket (non-blocking, close-on-exec, SO_REUSEADDR) and its accepts.
///
/// `host` is a numeric address or a name: `127.0.0.1`, `0.0.0.0`, `::1`, `::`, `localhost`
/// (brackets are the command line's business: see `HostPort`).
public struct TCPListener: Sendable {
    public let fd: FileDescriptor
    /// The address actually bound (its port is the real one when asked for port 0).
    public let address: SocketAddress

    public init(host: String, port: Int, backlog: Int32 = 128) throws(NetError) {
        let display = SocketAddress.display(host: host, port: port)
        var lastError = NetError(.listen, "cannot listen on \(display)")
        for candidate in try Resolver.resolve(host: host, port: port, passive: true) {
            let raw = socket(candidate.family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
            guard raw >= 0 else { lastError = NetError.system(.listen, "cannot listen on \(display): socket"); continue }
            var on: Int32 = 1
            setsockopt(raw, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            if candidate.family == AF_INET6 {
                // `::` means IPv6 only here; `0.0.0.0` is the way to ask for IPv4.
                setsockopt(raw, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size))
            }
            guard candidate.withSockaddr({ bind(raw, $0, $1) }) == 0, Glibc.listen(raw, backlog) == 0 else {
                lastError = NetError.system(.listen, "cannot listen on \(display)")
                Glibc.close(raw)
                continue
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(raw, $0, &length) }
            }
            self.fd = FileDescriptor(rawValue: raw)
            self.address = SocketAddress(storage: storage, length: length)
            return
        }
        throw lastError
    }

    /// Accepts one connection: nil when none is waiting (EAGAIN) or it was aborted before
    /// we got to it. The new socket is non-blocking, close-on-exec, TCP_NODELAY.
    /// (accept + fcntl rather than accept4, which Swift's Glibc does not export: our
    /// programs are single-threaded, so no fork can happen in between.)
    public func accept() throws(NetError) -> (fd: FileDescriptor, peer: SocketAddress)? {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let raw = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd.rawValue, $0, &length) }
            }
            if raw < 0 {
                switch errno {
                case EINTR: continue
                case EAGAIN, EWOULDBLOCK, ECONNABORTED, EPROTO: return nil
                default: throw NetError.system(.io, "accept on \(address)")
                }
            }
            let client = FileDescriptor(rawValue: raw)
            _ = fcntl(raw, F_SETFD, FD_CLOEXEC)
            _ = fcntl(raw, F_SETFL, fcntl(raw, F_GETFL) | O_NONBLOCK)
            Socket.setNoDelay(client)
            return (client, SocketAddress(storage: storage, length: length))
        }
    }

    public func close() {
        Glibc.close(fd.rawValue)
    }
}
