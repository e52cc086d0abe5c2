import ConvergeWire

/// The plain HTTP answers the master writes itself.
enum Responses {
    static func text(_ status: Int, _ body: String, headers: [String: String] = [:], headOnly: Bool = false) -> [UInt8] {
        let bytes = Array((body.hasSuffix("\n") ? body : body + "\n").utf8)
        return make(status, contentType: "text/plain; charset=utf-8", body: bytes, headers: headers, headOnly: headOnly)
    }

    static func make(_ status: Int, contentType: String, body: [UInt8], headers: [String: String] = [:], headOnly: Bool = false) -> [UInt8] {
        var head = HTTPResponseHead(status: status)
        head.headers.add("Content-Type", contentType)
        head.headers.add("Content-Length", String(body.count))
        head.headers.add("Connection", "close")
        head.headers.add("Cache-Control", "no-store")
        for name in headers.keys.sorted() { head.headers.add(name, headers[name]!) }
        return head.serialized + (headOnly ? [] : body)
    }

    /// The head for a download whose body follows by sendfile.
    static func fileHead(name: String, size: Int) -> [UInt8] {
        HTTPResponseHead(status: 200, headers: HTTPHeaders([
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", String(size)),
            ("Content-Disposition", "attachment; filename=\"\(name)\""),
            ("Connection", "close"),
        ])).serialized
    }
}
