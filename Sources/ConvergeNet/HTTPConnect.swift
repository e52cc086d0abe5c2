import ConvergeWire
import Glibc
import SystemPackage

/// A TCP tunnel through an HTTP proxy (`CONNECT host:port`), for reaching the rendezvous
/// server from a CI job that only has a proxy to the outside.
public enum HTTPConnect {
    /// Connects to `proxy`, asks it for a tunnel to `host:port` and returns the socket,
    /// ready for TLS or HTTP. Errors say which of the two hops failed.
    public static func open(through proxy: ProxyServer, to host: String, port: Int, timeout: Double = 15) throws(NetError) -> FileDescriptor {
        let deadline = Clock.monotonic() + timeout
        let fd: FileDescriptor
        do {
            fd = try TCP.connect(host: proxy.host, port: proxy.port, timeout: timeout)
        } catch {
            throw NetError(error.kind == .resolve ? .resolve : .proxy, "proxy: \(error.description)", code: error.code)
        }
        do {
            try tunnel(fd, proxy: proxy, to: host, port: port, deadline: deadline)
            return fd
        } catch {
            Glibc.close(fd.rawValue)
            throw error
        }
    }

    static func tunnel(_ fd: FileDescriptor, proxy: ProxyServer, to host: String, port: Int, deadline: Double) throws(NetError) {
        let target = SocketAddress.display(host: host, port: port)
        var head = HTTPRequestHead(method: "CONNECT", target: target, headers: HTTPHeaders([("Host", target)]))
        if let authorization = proxy.authorization { head.headers.add("Proxy-Authorization", authorization) }
        let stream = FileStream(fd)
        do {
            try stream.writeAll(head.serialized, deadline: deadline)
        } catch {
            throw NetError(.proxy, "proxy \(proxy): \(error.description)", code: error.code)
        }
        // Read the answer byte-exactly up to its blank line: anything after it belongs to
        // the tunnel (in practice nothing: the server speaks only after we do).
        var received: [UInt8] = []
        var boundary = HTTPHeadBoundary()
        var byte: UInt8 = 0
        while true {
            let n: Int
            do {
                n = try withUnsafeMutableBytes(of: &byte) { (raw) throws(NetError) in try stream.readSome(into: raw, deadline: deadline) }
            } catch {
                throw NetError(error.kind == .timeout ? .timeout : .proxy, "proxy \(proxy) did not answer CONNECT: \(error.description)", code: error.code)
            }
            guard n == 1 else { throw NetError(.proxy, "proxy \(proxy) closed the connection instead of answering CONNECT") }
            received.append(byte)
            let parsed: (head: HTTPResponseHead, length: Int)?
            do {
                parsed = try HTTPResponseHead.parse(received, limit: 8192, resuming: &boundary)
            } catch {
                throw NetError(.proxy, "proxy \(proxy) sent a malformed answer to CONNECT: \(error.description)")
            }
            guard let (response, _) = parsed else { continue }
            guard (200...299).contains(response.status) else {
                let hint = response.status == 407 ? " (proxy authentication required: put credentials in the proxy URL)" : ""
                throw NetError(.proxy, "proxy \(proxy) refused CONNECT to \(target): \(response.status) \(LogText.escaped(response.reason))\(hint)")
            }
            return
        }
    }
}
