/// Where a response body ends (RFC 9112 §6.3), as a small client reads one: chunked,
/// `Content-Length`, or everything until the server closes; bounded by `limit` bytes.
/// Bytes in, the body or "needs more" or a typed error out; never touches a socket.
///
/// ```swift
/// let decoder = try HTTPBodyDecoder(headers: head.headers, limit: 1 << 20)
/// switch try decoder.decode(Array(received[headLength...]), ended: readReturnedZero) {
/// case .body(let body): return body
/// case .needsMore: continue  // read again
/// }
/// ```
///
/// `decode` takes every body byte received so far (not just the new ones), so it keeps no
/// state. Chunk extensions and trailers are skipped; the chunk's CRLF is not checked.
public struct HTTPBodyDecoder: Sendable, Equatable {
    public enum Framing: Sendable, Equatable {
        case chunked
        case contentLength(Int)
        /// No framing header: the body is what arrives until the connection closes.
        case untilClose
    }

    public enum Progress: Sendable, Equatable {
        case body([UInt8])
        case needsMore
    }

    /// Slack for chunk size lines and CRLFs beyond `limit` before a chunked body is too large.
    public static let chunkOverhead = 65536

    public let framing: Framing
    /// Largest body accepted.
    public let limit: Int
    /// A `Content-Length` sent beside `Transfer-Encoding: chunked` (chunked wins, but a
    /// connection that ends early is still cut short).
    let declared: Int?

    /// Reads the framing from a response's headers; a negative or too large
    /// `Content-Length` is refused at once.
    public init(headers: HTTPHeaders, limit: Int) throws(HTTPBodyError) {
        let chunked = headers.contains("Transfer-Encoding", token: "chunked")
        let declared = headers["Content-Length"].flatMap { Int($0) }
        if let declared, declared < 0 {
            throw HTTPBodyError(.malformed, "malformed HTTP answer: negative Content-Length")
        }
        if let declared, declared > limit { throw HTTPBodyError.tooLarge(limit) }
        self.limit = limit
        self.declared = declared
        framing = chunked ? .chunked : declared.map { .contentLength($0) } ?? .untilClose
    }

    /// The body once `bytes` (everything after the head so far) hold all of it; `ended`:
    /// the connection has closed, so no more bytes will come.
    public func decode(_ bytes: [UInt8], ended: Bool) throws(HTTPBodyError) -> Progress {
        let slack = framing == .chunked ? HTTPBodyDecoder.chunkOverhead : 0
        if bytes.count > limit + slack { throw HTTPBodyError.tooLarge(limit) }
        switch framing {
        case .contentLength(let length) where bytes.count >= length:
            return .body(Array(bytes.prefix(length)))
        case .chunked:
            if let body = try HTTPBodyDecoder.dechunk(bytes) {
                guard body.count <= limit else { throw HTTPBodyError.tooLarge(limit) }
                return .body(body)
            }
        default:
            break
        }
        guard ended else { return .needsMore }
        if framing != .untilClose || declared != nil {
            throw HTTPBodyError(.truncated, "the connection closed before the whole answer arrived")
        }
        return .body(bytes)
    }

    /// A chunked body once its last chunk arrived, or nil while more bytes are needed.
    static func dechunk(_ bytes: [UInt8]) throws(HTTPBodyError) -> [UInt8]? {
        var out: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = crlf(in: bytes, from: i) else { return nil }
            // The size, before any `;extension`, without blanks around it.
            let line = String(decoding: bytes[i..<lineEnd], as: UTF8.self)
            let text = line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0].trimmingSpaces(trailingCR: true)
            guard let size = Int(text, radix: 16), size >= 0 else {
                throw HTTPBodyError(.malformed, "malformed chunked body")
            }
            let start = lineEnd + 2
            if size == 0 { return out }
            guard bytes.count - start - 2 >= size else { return nil }  // (start + size could overflow)
            out += bytes[start..<(start + size)]
            i = start + size + 2
        }
    }

    static func crlf(in bytes: [UInt8], from: Int) -> Int? {
        var j = from
        while j + 1 < bytes.count {
            if bytes[j] == 13 && bytes[j + 1] == 10 { return j }
            j += 1
        }
        return nil
    }
}

/// Why a body cannot be read; `description` is one line for the user.
public struct HTTPBodyError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A framing header or a chunk size that does not parse.
        case malformed
        /// Longer than the limit.
        case tooLarge
        /// The connection closed before the body was complete.
        case truncated
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    static func tooLarge(_ limit: Int) -> HTTPBodyError {
        HTTPBodyError(.tooLarge, "the answer is larger than \(limit) bytes")
    }
}
