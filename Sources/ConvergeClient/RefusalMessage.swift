import ConvergeWire

/// The one line a user sees when the server answers the upgrade with an error status.
/// The server's own one-line text body is preferred: it knows best what went wrong.
enum RefusalMessage {
    static func text(status: Int, reason: String, body: [UInt8], contentType: String?, url: ServerURL) -> String {
        let serverLine = firstLine(body, contentType: contentType)
        switch status {
        case 404:
            if let serverLine { return "\(serverLine) (404 from server)" }
            if let id = clientID(url.path) { return "no agent is connected under ID \"\(LogText.escaped(id))\" (404 from server)" }
            return "nothing at \(LogText.escaped(url.path)) (404 from server)"
        case 409:
            return "\(serverLine ?? "the ID is in use by another agent") (409 from server)"
        case 200..<300:
            return "server answered \(status) \(LogText.escaped(reason)) instead of a WebSocket upgrade (is \(url) the right URL?)"
        default:
            let detail = serverLine.map { ": \($0)" } ?? ""
            return "server answered \(status) \(LogText.escaped(reason))\(detail)"
        }
    }

    /// The body's first line, if it is short plain text.
    static func firstLine(_ body: [UInt8], contentType: String?) -> String? {
        if let type = contentType?.lowercased(), !type.hasPrefix("text/plain") { return nil }
        let line = body.prefix { $0 != 0x0A && $0 != 0x0D }
        guard !line.isEmpty else { return nil }
        // Quotes kept: this is a message, not a log field; anything not printable becomes
        // `\xNN`, so a hostile server cannot mess up the terminal.
        return LogText.escaped(line, quoting: false)
    }

    /// `ID` from `/client/ID` (query removed).
    static func clientID(_ path: String) -> String? {
        let noQuery = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let parts = noQuery.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[parts.count - 2] == "client", !parts[parts.count - 1].isEmpty else { return nil }
        return String(parts[parts.count - 1])
    }
}
