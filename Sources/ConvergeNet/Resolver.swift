import Glibc

/// Name resolution with getaddrinfo(3). It blocks (glibc has no timeout for it); callers
/// that must not block do it before entering their poll loop.
public enum Resolver {
    /// All TCP addresses for `host` (a name or a numeric IPv4/IPv6 address) and `port`,
    /// in the order getaddrinfo prefers. `passive` asks for addresses to bind to.
    public static func resolve(host: String, port: Int, passive: Bool = false) throws(NetError) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0 else {
            let reason = rc == EAI_SYSTEM ? NetError.errorText(errno) : String(cString: gai_strerror(rc))
            throw NetError(.resolve, "cannot resolve host \"\(host)\": \(reason)")
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var entry = list
        while let info = entry {
            if let address = info.pointee.ai_addr, Int(info.pointee.ai_addrlen) <= MemoryLayout<sockaddr_storage>.size {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { raw in
                    raw.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(info.pointee.ai_addrlen)))
                }
                addresses.append(SocketAddress(storage: storage, length: info.pointee.ai_addrlen))
            }
            entry = info.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw NetError(.resolve, "cannot resolve host \"\(host)\": no addresses") }
        return addresses
    }
}
