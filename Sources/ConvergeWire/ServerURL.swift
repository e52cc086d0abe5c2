/// A `ws://` or `wss://` URL (also `http(s)://` for key downloads), as given on a command line.
public struct ServerURL: Equatable, Sendable, CustomStringConvertible {
    public let secure: Bool
    public let host: String
    public let port: Int
    /// Path and query, always starting with "/".
    public let path: String
    let scheme: String

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String, schemes: [String] = ["ws", "wss"]) throws(ParseError) {
        let expected = schemes.map { $0 + "://" }.joined(separator: " or ")
        let pieces = text.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard pieces.count == 2 else {
            throw ParseError(description: "malformed URL '\(LogText.escaped(text))': expected \(expected)HOST[:PORT]")
        }
        let scheme = pieces[0].lowercased()
        guard schemes.contains(scheme) else {
            throw ParseError(description: "unsupported URL scheme '\(LogText.escaped(scheme))': use \(expected)HOST[:PORT]")
        }
        let rest = pieces[1]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
        if path.isEmpty || path.first == "?" { path = "/" + path }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host: Substring
        var portText: Substring? = nil
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else { throw ParseError(description: "malformed URL: unclosed '[' in host") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { throw ParseError(description: "malformed URL: junk after ']'") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {  // a second colon makes the port invalid
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        let hostAllowed: (UInt8) -> Bool = { c in
            (c >= 0x30 && c <= 0x3A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x2E || c == 0x5F
        }
        guard !host.isEmpty, host.utf8.allSatisfy(hostAllowed) else {
            throw ParseError(description: "malformed URL '\(LogText.escaped(text))': missing or invalid host")
        }
        let secure = scheme == "wss" || scheme == "https"
        var port = secure ? 443 : 80
        if let portText {
            guard portText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let p = Int(portText), (1...65535).contains(p) else {
                throw ParseError(description: "malformed URL '\(LogText.escaped(text))': invalid port")
            }
            port = p
        }
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw ParseError(description: "malformed URL: the path must be printable ASCII without spaces")
        }
        self.scheme = scheme
        self.secure = secure
        self.host = String(host)
        self.port = port
        self.path = path
    }

    /// The Host header value: the port is left out when it is the scheme's default.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? h : "\(h):\(port)"
    }

    /// The same server with another path.
    public func with(path: String) -> ServerURL {
        ServerURL(scheme: scheme, secure: secure, host: host, port: port, path: path)
    }

    private init(scheme: String, secure: Bool, host: String, port: Int, path: String) {
        self.scheme = scheme
        self.secure = secure
        self.host = host
        self.port = port
        self.path = path
    }

    public var description: String { "\(scheme)://\(hostHeader)\(path)" }
}

/// A rendezvous ID: 1–64 characters of `[A-Za-z0-9._-]`.
public enum RendezvousID {
    public static let maxLength = 64

    public static func isValid(_ id: some StringProtocol) -> Bool {
        !id.isEmpty && id.utf8.count <= maxLength && id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
        }
    }

    /// An unguessable ID: 20 characters from a 62-letter alphabet (about 119 bits).
    public static func random(using randomBytes: (Int) -> [UInt8]) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var id = ""
        while id.count < 20 {
            for byte in randomBytes(32) where byte < 248 && id.count < 20 {  // 248 = 4 × 62: no modulo bias
                id.append(alphabet[Int(byte) % 62])
            }
        }
        return id
    }
}
