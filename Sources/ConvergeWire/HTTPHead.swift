/// HTTP/1.1 request and response heads: parsed from bytes, never from a socket.
///
/// The parsers return nil while the head is incomplete (no blank line yet) and throw
/// once the bytes can no longer become a valid head, or the head exceeds `limit` bytes.

public struct HTTPError: Error, Equatable, CustomStringConvertible {
    public let status: Int
    public let description: String
    public init(status: Int = 400, _ description: String) {
        self.status = status
        self.description = description
    }
}

public struct HTTPHeaders: Sendable, Equatable {
    public private(set) var fields: [(name: String, value: String)] = []

    public init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }

    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// The first value of a header, names compared case-insensitively.
    public subscript(name: String) -> String? {
        let wanted = name.lowercased()
        return fields.first { $0.name.lowercased() == wanted }?.value
    }

    /// Every value of a header, in order (a list header may be split over several lines).
    public func values(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return fields.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    /// True when a comma-separated header (`Connection`, `Upgrade`) lists `token`.
    public func contains(_ name: String, token: String) -> Bool {
        let wanted = name.lowercased(), tokenWanted = token.lowercased()
        return fields.contains { field in
            field.name.lowercased() == wanted && field.value.split(separator: ",").contains {
                $0.trimmingSpaces().lowercased() == tokenWanted
            }
        }
    }

    public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

public struct HTTPRequestHead: Sendable, Equatable {
    public var method: String
    public var target: String
    public var version: String
    public var headers: HTTPHeaders

    public init(method: String, target: String, version: String = "HTTP/1.1", headers: HTTPHeaders = HTTPHeaders()) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// The target without its query string.
    public var path: Substring { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0] }

    /// Parses a request head from the start of `bytes`.
    /// Returns the head and the number of bytes it used, or nil if more bytes are needed.
    public static func parse(_ bytes: [UInt8], limit: Int = 8192) throws(HTTPError) -> (head: HTTPRequestHead, length: Int)? {
        var boundary = HTTPHeadBoundary()
        return try parse(bytes, limit: limit, resuming: &boundary)
    }

    /// The same for bytes that arrive read by read: `boundary` remembers how far earlier
    /// calls looked, so no byte is scanned twice while the head is incomplete.
    public static func parse(_ bytes: [UInt8], limit: Int = 8192, resuming boundary: inout HTTPHeadBoundary) throws(HTTPError) -> (head: HTTPRequestHead, length: Int)? {
        guard let length = try boundary.find(in: bytes, limit: limit) else { return nil }
        let lines = try HeadLines.split(bytes[..<length])
        let parts = lines[0].splitOnSpaces()
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty,
              parts[0].allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw HTTPError("malformed request line")
        }
        guard parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0" else {
            throw HTTPError(status: 505, "unsupported HTTP version")
        }
        guard parts[1].first == "/" || parts[1] == "*" else { throw HTTPError("request target must be a path") }
        let headers = try HeadLines.headers(lines.dropFirst())
        return (HTTPRequestHead(method: String(parts[0]), target: String(parts[1]), version: String(parts[2]), headers: headers), length)
    }

    /// The head as sent on the wire (used by clients).
    public var serialized: [UInt8] {
        var text = "\(method) \(target) \(version)\r\n"
        for field in headers.fields { text += "\(field.name): \(field.value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }
}

public struct HTTPResponseHead: Sendable, Equatable {
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders

    public init(status: Int, reason: String? = nil, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.reason = reason ?? HTTPResponseHead.reasonPhrase(status)
        self.headers = headers
    }

    /// Parses a response head (what a client reads back from a server or proxy).
    public static func parse(_ bytes: [UInt8], limit: Int = 16384) throws(HTTPError) -> (head: HTTPResponseHead, length: Int)? {
        var boundary = HTTPHeadBoundary()
        return try parse(bytes, limit: limit, resuming: &boundary)
    }

    /// The same for bytes that arrive read by read (see `HTTPHeadBoundary`).
    public static func parse(_ bytes: [UInt8], limit: Int = 16384, resuming boundary: inout HTTPHeadBoundary) throws(HTTPError) -> (head: HTTPResponseHead, length: Int)? {
        guard let length = try boundary.find(in: bytes, limit: limit) else { return nil }
        let lines = try HeadLines.split(bytes[..<length])
        let parts = lines[0].splitOnSpaces(maxSplits: 2)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0",
              parts[1].count == 3, let status = Int(parts[1]), (100...599).contains(status) else {
            throw HTTPError("malformed status line")
        }
        let headers = try HeadLines.headers(lines.dropFirst())
        return (HTTPResponseHead(status: status, reason: parts.count == 3 ? String(parts[2]) : "", headers: headers), length)
    }

    public var serialized: [UInt8] {
        var text = "HTTP/1.1 \(status) \(reason)\r\n"
        for field in headers.fields { text += "\(field.name): \(field.value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 413: return "Payload Too Large"
        case 426: return "Upgrade Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }
}

/// Splitting a head into lines and header fields, shared by requests and responses.
enum HeadLines {
    /// The lines of a complete head (its blank line included).
    static func split(_ head: ArraySlice<UInt8>) throws(HTTPError) -> [Substring] {
        // Split on LF bytes, not Characters: in Swift "\r\n" is a single Character.
        var lines: [Substring] = []
        for raw in head.split(separator: 0x0A, omittingEmptySubsequences: false) {
            let trimmed = raw.last == 0x0D ? raw.dropLast() : raw
            guard let line = String(validating: trimmed, as: UTF8.self) else {
                throw HTTPError("head is not valid UTF-8")
            }
            lines.append(line[...])
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard !lines.isEmpty else { throw HTTPError("empty head") }
        return lines
    }

    static func headers(_ lines: ArraySlice<Substring>) throws(HTTPError) -> HTTPHeaders {
        guard lines.count <= 100 else { throw HTTPError(status: 431, "more than 100 header fields") }
        var headers = HTTPHeaders()
        for line in lines {
            let scalars = line.unicodeScalars
            guard let colon = scalars.firstIndex(of: ":") else { throw HTTPError("header line without a colon") }
            let name = Substring(scalars[..<colon])
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else {
                throw HTTPError("malformed header name")
            }
            if line.utf8.contains(where: { $0 < 0x20 && $0 != 0x09 }) {
                throw HTTPError("control character in header")
            }
            headers.add(String(name), String(Substring(scalars[scalars.index(after: colon)...]).trimmingSpaces()))
        }
        return headers
    }

    /// A byte allowed in a header name (RFC 9110's token characters).
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return tokenPunctuation.contains(byte)
        }
    }

    private static let tokenPunctuation = Set("-_.!#$%&'*+^`|~".utf8)
}

// HTTP's separators are bytes, not Characters (see `trimmingSpaces`).
extension Substring {
    /// The parts between single spaces (empty parts kept), as the start line is cut.
    func splitOnSpaces(maxSplits: Int = .max) -> [Substring] {
        unicodeScalars.split(separator: " ", maxSplits: maxSplits, omittingEmptySubsequences: false).map(Substring.init)
    }
}
