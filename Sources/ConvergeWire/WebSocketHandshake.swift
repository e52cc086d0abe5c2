import COpenSSL

/// The RFC 6455 opening handshake, both sides, as pure functions over HTTP heads.
public enum WebSocketHandshake {
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
    public static func acceptValue(forKey key: String) -> String {
        let input = Array((key + guid).utf8)
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        _ = SHA1(input, input.count, &digest)
        return Base64.encode(digest)
    }

    /// A fresh random `Sec-WebSocket-Key` (16 random bytes, base64).
    public static func randomKey() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        precondition(RAND_bytes(&bytes, 16) == 1, "OpenSSL RAND_bytes failed")
        return Base64.encode(bytes)
    }

    /// Checks a request is a valid WebSocket upgrade and returns its key.
    public static func validateUpgrade(_ request: HTTPRequestHead) throws(HTTPError) -> String {
        guard request.method == "GET" else { throw HTTPError(status: 405, "WebSocket upgrade must use GET") }
        guard request.version == "HTTP/1.1" else { throw HTTPError("WebSocket upgrade needs HTTP/1.1") }
        guard request.headers.contains("Upgrade", token: "websocket"),
              request.headers.contains("Connection", token: "upgrade") else {
            throw HTTPError(status: 426, "this endpoint needs a WebSocket upgrade")
        }
        guard request.headers["Sec-WebSocket-Version"] == "13" else {
            throw HTTPError(status: 426, "unsupported Sec-WebSocket-Version (13 is required)")
        }
        guard let key = request.headers["Sec-WebSocket-Key"], let raw = Base64.decode(key), raw.count == 16 else {
            throw HTTPError("missing or malformed Sec-WebSocket-Key")
        }
        return key
    }

    /// The server's 101 answer for a validated key.
    public static func acceptResponse(key: String, extraHeaders: [(String, String)] = []) -> HTTPResponseHead {
        var headers = HTTPHeaders([("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                   ("Sec-WebSocket-Accept", acceptValue(forKey: key))])
        for (name, value) in extraHeaders { headers.add(name, value) }
        return HTTPResponseHead(status: 101, headers: headers)
    }

    /// The client's upgrade request for `path` on `host` (the Host header value, with port if not default).
    public static func clientRequest(host: String, path: String, key: String, extraHeaders: [(String, String)] = []) -> HTTPRequestHead {
        var headers = HTTPHeaders([("Host", host), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                   ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13"),
                                   ("User-Agent", "converge")])
        for (name, value) in extraHeaders { headers.add(name, value) }
        return HTTPRequestHead(method: "GET", target: path, headers: headers)
    }

    /// Checks the server's answer to `clientRequest`. Any status other than 101 is thrown
    /// with the status so the caller can say "no such agent" for 404 and so on.
    public static func validateResponse(_ response: HTTPResponseHead, key: String) throws(HTTPError) {
        guard response.status == 101 else {
            throw HTTPError(status: response.status, "server answered \(response.status) \(response.reason)")
        }
        guard response.headers.contains("Upgrade", token: "websocket"),
              response.headers.contains("Connection", token: "upgrade"),
              response.headers["Sec-WebSocket-Accept"] == acceptValue(forKey: key) else {
            throw HTTPError(status: 502, "server's WebSocket handshake answer is invalid")
        }
    }
}
