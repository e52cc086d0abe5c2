import ConvergeNet
import ConvergeWire

/// A small HTTP/1.1 GET client for short text documents (the agent's
/// `--authorized-keys-url`): the same TCP, proxy (`https_proxy`, `no_proxy`) and verified
/// TLS path as the WebSocket dialer. Only `200` counts; up to `maxRedirects` redirects
/// (301, 302, 303, 307, 308) are followed, never from https:// down to http://. The body
/// is bounded by `limit` bytes and the whole fetch by `timeout` seconds.
///
/// ```swift
/// let url = try ServerURL(parsing: "https://github.com/octocat.keys", schemes: ["https", "http"])
/// let text = try HTTPFetch(url: url, tls: try TLSContext()).get()
/// ```
public struct HTTPFetch {
    public var url: ServerURL
    /// For https://. Nil: system CAs, verification on.
    public var tls: TLSContext?
    public var proxies: ProxySettings
    /// Bound for the whole fetch, redirects included.
    public var timeout: Double = 20
    /// Largest body accepted.
    public var limit = 1 << 20
    public var maxRedirects = 2

    public init(url: ServerURL, tls: TLSContext? = nil, proxies: ProxySettings = .fromEnvironment()) {
        self.url = url
        self.tls = tls
        self.proxies = proxies
    }

    /// The body of a `200` answer, as bytes. Errors are one line naming the URL.
    public func get() throws(DialError) -> [UInt8] {
        let deadline = Clock.monotonic() + timeout
        var current = url
        var redirects = 0
        while true {
            switch try fetchOnce(current, deadline: deadline) {
            case .body(let body):
                return body
            case .redirect(let location):
                guard redirects < maxRedirects else {
                    throw DialError(.refused, "\(current): too many redirects", status: 310)
                }
                redirects += 1
                let next = try resolve(location, against: current)
                if current.secure && !next.secure {
                    throw DialError(.refused, "\(current): refusing a redirect from https:// to \(next)")
                }
                current = next
            }
        }
    }

    enum Answer { case body([UInt8]), redirect(String) }

    func resolve(_ location: String, against base: ServerURL) throws(DialError) -> ServerURL {
        // A path on the same server is checked as a whole URL there: it goes into the next
        // request line, so it must not carry spaces, control bytes or a fragment.
        let absolute = location.hasPrefix("/") ? "\(base.secure ? "https" : "http")://\(base.hostHeader)\(location)" : location
        do {
            return try ServerURL(parsing: absolute, schemes: ["https", "http"])
        } catch {
            throw DialError(.invalidURL, "\(base): redirect to an unusable location: \(error.description)")
        }
    }

    func fetchOnce(_ target: ServerURL, deadline: Double) throws(DialError) -> Answer {
        let remaining = max(0.5, deadline - Clock.monotonic())
        let stream = try connect(target, timeout: remaining)
        defer { stream.close() }
        return try exchange(over: stream, target: target, deadline: deadline)
    }

    /// Sends the GET for `target` over `stream` and reads the answer (apart from
    /// `connect`, so the parsing can be driven over any stream).
    func exchange(over stream: any ByteStream, target: ServerURL, deadline: Double) throws(DialError) -> Answer {
        var headers = HTTPHeaders()
        headers.add("Host", target.hostHeader)
        headers.add("User-Agent", "converge-agent")
        headers.add("Accept", "text/plain, */*")
        headers.add("Connection", "close")
        let request = HTTPRequestHead(method: "GET", target: target.path, headers: headers)
        var received: [UInt8] = []
        let head: HTTPResponseHead
        let length: Int
        do {
            (head, length) = try ServerExchange.send(request.serialized, over: stream, readSize: 16384, deadline: deadline, received: &received)
        } catch {
            switch error {
            case .closed: throw DialError(.handshake, "\(target): the server closed the connection without answering")
            case .malformed(let error): throw DialError(.handshake, "\(target): malformed HTTP answer: \(error.description)")
            case .network(let error): throw networkError(error, target)
            }
        }
        if (300...399).contains(head.status), [301, 302, 303, 307, 308].contains(head.status) {
            guard let location = head.headers["Location"], !location.isEmpty else {
                throw DialError(.refused, "\(target): \(head.status) without a Location", status: head.status)
            }
            return .redirect(location)
        }
        guard head.status == 200 else {
            throw DialError(.refused, "\(target): HTTP \(head.status) \(LogText.escaped(head.reason, limit: 60))", status: head.status)
        }
        let body: HTTPBodyDecoder
        do { body = try HTTPBodyDecoder(headers: head.headers, limit: limit) } catch { throw bodyError(error, target) }
        var ended = false
        while true {
            // Once the connection has ended, this is the body or an error.
            do {
                if case .body(let bytes) = try body.decode(Array(received[length...]), ended: ended) { return .body(bytes) }
            } catch {
                throw bodyError(error, target)
            }
            do {
                ended = try ServerExchange.read(stream, size: 16384, into: &received, deadline: deadline) == 0
            } catch {
                throw networkError(error, target)
            }
        }
    }

    func networkError(_ error: NetError, _ target: ServerURL) -> DialError {
        if error.kind == .timeout {
            return DialError(.network(.timeout), "\(target): no complete answer within \(Int(timeout)) s")
        }
        return DialError(.network(error.kind), "\(target): \(error.description)")
    }

    /// Refusals for size, the rest as malformed or cut-off answers.
    func bodyError(_ error: HTTPBodyError, _ target: ServerURL) -> DialError {
        switch error.kind {
        case .malformed: DialError(.handshake, "\(target): \(error.description)")
        case .tooLarge: DialError(.refused, "\(target): \(error.description)")
        case .truncated: DialError(.network(.io), "\(target): \(error.description)")
        }
    }

    /// TCP (directly or through the proxy from the environment), then TLS for https://.
    func connect(_ target: ServerURL, timeout: Double) throws(DialError) -> any ByteStream {
        do {
            return try ServerExchange.open(target, tls: tls, proxies: proxies, timeout: timeout)
        } catch {
            throw DialError(error.kind == .tls ? .tls : .network(error.kind), "\(target): \(error.description)")
        }
    }
}
