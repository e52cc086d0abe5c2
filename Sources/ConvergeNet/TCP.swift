import Glibc
import SystemPackage

/// Outgoing TCP connections.
public enum TCP {
    /// Resolves `host` and connects to the first address that answers within `timeout`
    /// seconds (shared by all addresses, in getaddrinfo's order). The socket is non-blocking, close-on-exec,
    /// TCP_NODELAY. Errors name the host and port: `cannot connect to example.com:80: Connection refused`.
    public static func connect(host: String, port: Int, timeout: Double = 15) throws(NetError) -> FileDescriptor {
        let deadline = Clock.monotonic() + timeout
        let addresses = try Resolver.resolve(host: host, port: port)
        let target = SocketAddress.display(host: host, port: port)
        var lastError = NetError(.connect, "cannot connect to \(target)")
        for (index, address) in addresses.enumerated() {
            // An address that swallows SYNs must not use up the whole timeout: each gets
            // its share of what is left (the last one all of it).
            let remaining = deadline - Clock.monotonic()
            let share = remaining / Double(addresses.count - index)
            let attemptDeadline = min(deadline, Clock.monotonic() + max(share, min(remaining, 3)))
            do {
                return try connect(to: address, deadline: attemptDeadline, target: target)
            } catch {
                lastError = error
                if Clock.monotonic() >= deadline { break }
            }
        }
        throw lastError
    }

    /// Connects to one address; non-blocking connect, then poll for writability.
    public static func connect(to address: SocketAddress, deadline: Double, target: String? = nil) throws(NetError) -> FileDescriptor {
        let name = target ?? address.description
        let raw = socket(address.family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard raw >= 0 else { throw NetError.system(.connect, "cannot connect to \(name): socket") }
        let fd = FileDescriptor(rawValue: raw)
        var ok = false
        defer { if !ok { Glibc.close(raw) } }
        let rc = address.withSockaddr { Glibc.connect(raw, $0, $1) }
        if rc != 0 {
            guard errno == EINPROGRESS || errno == EINTR else {
                throw NetError.system(.connect, "cannot connect to \(name)")
            }
            let events = try Poll.wait(fd, for: Int16(POLLOUT), until: deadline)
            guard events != 0 else {
                throw NetError(.timeout, "cannot connect to \(name): timed out", code: ETIMEDOUT)
            }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(raw, SOL_SOCKET, SO_ERROR, &soError, &length)
            guard soError == 0 else { throw NetError.system(.connect, "cannot connect to \(name)", code: soError) }
        }
        Socket.setNoDelay(fd)
        ok = true
        return fd
    }
}
