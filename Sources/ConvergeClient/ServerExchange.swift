import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// What the WebSocket dialer and HTTPFetch do alike before their answers part ways: open
/// the stream to a URL, send the request, read the answer's head. Failures are typed,
/// so each words them for its own user.
enum ServerExchange {
    /// TCP (directly or through the proxy from the environment), then TLS for a secure URL
    /// (`tls` nil: the system's CAs, verification on).
    static func open(_ url: ServerURL, tls: TLSContext?, proxies: ProxySettings, timeout: Double) throws(NetError) -> any ByteStream {
        let fd: FileDescriptor
        if let proxy = try proxies.proxy(forHost: url.host, port: url.port, secure: url.secure) {
            fd = try HTTPConnect.open(through: proxy, to: url.host, port: url.port, timeout: timeout)
        } else {
            fd = try TCP.connect(host: url.host, port: url.port, timeout: timeout)
        }
        guard url.secure else { return FileStream(fd) }
        do {
            let context: TLSContext
            if let tls { context = tls } else { context = try TLSContext() }
            return try TLSStream(socket: fd, host: url.host, context: context, deadline: Clock.monotonic() + timeout)
        } catch {
            Glibc.close(fd.rawValue)
            throw error
        }
    }

    enum HeadFailure: Error {
        /// The connection ended before a whole head arrived.
        case closed
        /// The bytes cannot become a head, or it is larger than `headLimit`.
        case malformed(HTTPError)
        /// The write or a read failed, or the deadline passed.
        case network(NetError)
    }

    /// Largest answer head accepted.
    static let headLimit = 16384

    /// Writes `request`, then reads `readSize` bytes at a time until `received` holds the
    /// answer's whole head; returns it and its length. `received` keeps all that was read,
    /// the bytes after the head too.
    static func send(_ request: [UInt8], over stream: any ByteStream, readSize: Int, deadline: Double,
                     received: inout [UInt8]) throws(HeadFailure) -> (head: HTTPResponseHead, length: Int) {
        var boundary = HTTPHeadBoundary()
        do { try stream.writeAll(request, deadline: deadline) } catch { throw .network(error) }
        while true {
            let n: Int
            do { n = try read(stream, size: readSize, into: &received, deadline: deadline) } catch { throw .network(error) }
            guard n > 0 else { throw .closed }
            let parsed: (head: HTTPResponseHead, length: Int)?
            do { parsed = try HTTPResponseHead.parse(received, limit: headLimit, resuming: &boundary) } catch { throw .malformed(error) }
            if let parsed { return parsed }
        }
    }

    /// Appends what one read brings (at most `size` bytes); returns the count, 0 at the end
    /// of the stream.
    static func read(_ stream: any ByteStream, size: Int, into received: inout [UInt8], deadline: Double) throws(NetError) -> Int {
        var chunk = [UInt8](repeating: 0, count: size)
        let n = try chunk.withUnsafeMutableBytes { raw in
            Result { () throws(NetError) in try stream.readSome(into: raw, deadline: deadline) }
        }.get()
        received += chunk[0..<n]
        return n
    }
}
