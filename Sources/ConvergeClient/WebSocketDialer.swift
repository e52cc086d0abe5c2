import ConvergeNet
import ConvergeWire

/// Opens a WebSocket to a `ws://` or `wss://` URL: TCP (directly or through an HTTP
/// CONNECT proxy from the environment), TLS for wss://, then the RFC 6455 handshake.
///
/// ```swift
/// let url = try ServerURL(parsing: "wss://example.com/client/abc")
/// let connection = try WebSocketDialer(url: url, tls: try TLSContext(caFile: nil)).dial()
/// ```
public struct WebSocketDialer {
    public var url: ServerURL
    /// For wss://. Nil: system CAs, verification on (created per dial).
    public var tls: TLSContext?
    public var proxies: ProxySettings
    /// Extra request headers (`X-Converge-Agent-Key` ...).
    public var headers: [(String, String)]
    /// Bound for each stage: TCP connect, TLS handshake, the server's answer.
    public var timeout: Double = 15
    /// RFC 6455 clients mask; our agent leg does not (docs/protocol.md).
    public var masksOutgoing = true

    public init(url: ServerURL, tls: TLSContext? = nil, proxies: ProxySettings = .fromEnvironment(),
                headers: [(String, String)] = []) {
        self.url = url
        self.tls = tls
        self.proxies = proxies
        self.headers = headers
    }

    /// Connects and upgrades. Errors are one line: DNS, refused/unreachable with
    /// host:port, proxy, TLS, or the server's refusal (404, 409, 503 ...).
    public func dial() throws(DialError) -> WebSocketConnection {
        let stream = try connect()
        do {
            return try upgrade(stream)
        } catch {
            stream.close()
            throw error
        }
    }

    /// TCP (or proxy tunnel) and TLS: a stream ready for the HTTP request.
    func connect() throws(DialError) -> any ByteStream {
        do {
            return try ServerExchange.open(url, tls: tls, proxies: proxies, timeout: timeout)
        } catch {
            throw DialError(error)
        }
    }

    /// The upgrade alone, over a stream already connected (the jump host's leg into its own master).
    public func upgrade(_ stream: any ByteStream) throws(DialError) -> WebSocketConnection {
        let deadline = Clock.monotonic() + timeout
        let key = WebSocketHandshake.randomKey()
        let request = WebSocketHandshake.clientRequest(host: url.hostHeader, path: url.path, key: key, extraHeaders: headers)
        var received: [UInt8] = []
        let head: HTTPResponseHead
        let headLength: Int
        do {
            (head, headLength) = try ServerExchange.send(request.serialized, over: stream, readSize: 4096, deadline: deadline, received: &received)
        } catch {
            switch error {
            case .closed:
                throw DialError(.handshake, "\(url.hostHeader) closed the connection without answering the WebSocket upgrade")
            case .malformed(let error):
                throw DialError(.handshake, "\(url.hostHeader) sent a malformed HTTP answer: \(error.description)")
            case .network(let error) where error.kind == .timeout:
                throw DialError(.network(.timeout), "\(url.hostHeader) did not answer the WebSocket upgrade within \(Int(timeout)) s")
            case .network(let error):
                throw DialError(.network(error.kind), "\(url.hostHeader): \(error.description)")
            }
        }
        let rest = Array(received[headLength...])
        guard head.status == 101 else {
            let body = readBody(stream, head: head, already: rest, deadline: min(deadline, Clock.monotonic() + 2))
            let text = RefusalMessage.text(status: head.status, reason: head.reason, body: body,
                                           contentType: head.headers["Content-Type"], url: url)
            throw DialError(.refused, text, status: head.status)
        }
        do {
            try WebSocketHandshake.validateResponse(head, key: key)
        } catch {
            throw DialError(.handshake, "\(url.hostHeader): \(error.description)")
        }
        return WebSocketConnection(stream: stream, response: head, pending: rest, url: url, masksOutgoing: masksOutgoing)
    }

    /// Up to 4 KiB of an error answer's body, within the deadline: enough for its first line.
    func readBody(_ stream: any ByteStream, head: HTTPResponseHead, already: [UInt8], deadline: Double) -> [UInt8] {
        let limit = 4096
        let wanted = head.headers["Content-Length"].flatMap { Int($0) }.map { min(max($0, 0), limit) }  // a negative one is a lie
        if head.headers.contains("Transfer-Encoding", token: "chunked") { return [] }
        var body = already
        var chunk = [UInt8](repeating: 0, count: 1024)
        while body.count < (wanted ?? limit) {
            let n = (try? chunk.withUnsafeMutableBytes { raw in
                Result { () throws(NetError) in try stream.readSome(into: raw, deadline: deadline) }
            }.get()) ?? 0
            if n == 0 { break }
            body += chunk[0..<n]
        }
        return Array(body.prefix(wanted ?? limit))
    }
}
