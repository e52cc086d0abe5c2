/// What an agent says about itself, for the operator's view: sent as optional headers of
/// its `/agent/ID` request (docs/protocol.md), and changes as a `state` line on its offered
/// connection. All of it comes from the agent, so none of it is trusted: each value is
/// cut to a length and stripped of control characters here, and escaped where it is shown.
public struct AgentFacts: Equatable, Sendable {
    public static let maxLength = 256

    public var version: String? = nil
    public var host: String? = nil
    public var os: String? = nil
    public var user: String? = nil
    public var directory: String? = nil
    /// The CI job's page; shown as a link only when it is http(s).
    public var jobURL: String? = nil
    /// When the agent stops waiting for a first login (`--timeout`), Unix seconds.
    public var waitUntil: Double? = nil

    public init() {}

    /// The header each fact travels in.
    public enum Header {
        public static let version = "X-Converge-Agent-Version"
        public static let host = "X-Converge-Agent-Host"
        public static let os = "X-Converge-Agent-OS"
        public static let user = "X-Converge-Agent-User"
        public static let directory = "X-Converge-Agent-Directory"
        public static let jobURL = "X-Converge-Agent-Job-URL"
        public static let waitUntil = "X-Converge-Agent-Wait-Until"
    }

    /// The facts in a request's headers (absent ones stay nil: older agents send none).
    public init(headers: (String) -> String?) {
        version = headers(Header.version).flatMap(AgentFacts.clean)
        host = headers(Header.host).flatMap(AgentFacts.clean)
        os = headers(Header.os).flatMap(AgentFacts.clean)
        user = headers(Header.user).flatMap(AgentFacts.clean)
        directory = headers(Header.directory).flatMap(AgentFacts.clean)
        jobURL = headers(Header.jobURL).flatMap(AgentFacts.clean)
        waitUntil = headers(Header.waitUntil).flatMap(AgentFacts.unixTime)
    }

    /// The headers an agent sends for these facts.
    public var headers: [(String, String)] {
        let values: [(String, String?)] = [
            (Header.version, version), (Header.host, host), (Header.os, os), (Header.user, user),
            (Header.directory, directory), (Header.jobURL, jobURL), (Header.waitUntil, waitUntil.map { String(Int($0)) }),
        ]
        return values.compactMap { name, value in value.flatMap(AgentFacts.clean).map { (name, $0) } }
    }

    /// At most `maxLength` characters, control characters replaced; nil when empty.
    static func clean(_ text: String) -> String? {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars.prefix(maxLength) {
            out.append(scalar.properties.generalCategory == .control ? "?" : scalar)
        }
        let cleaned = Substring(String(out)).trimmingSpaces()
        return cleaned.isEmpty ? nil : String(cleaned)
    }

    /// Whole Unix seconds within a plausible range (years 2001 to 2286).
    static func unixTime(_ text: String) -> Double? {
        guard text.count <= 12, let value = Int(text), (1_000_000_000...9_999_999_999).contains(value) else { return nil }
        return Double(value)
    }
}

/// An agent's `state` line, sent when its logins or its expiry change:
/// `state logged_in=N expires=UNIX` (`expires` absent while there is none; fields it does
/// not know are ignored). It rides in a pong frame: see docs/protocol.md for why.
public struct AgentStateLine: Equatable, Sendable {
    public static let prefix = "converge-state"

    public var loggedIn: Int
    public var expires: Double?

    public init(loggedIn: Int, expires: Double?) {
        self.loggedIn = loggedIn
        self.expires = expires
    }

    public init?(parsing payload: [UInt8]) {
        let text = String(decoding: payload, as: UTF8.self)
        let fields = text.split(separator: " ")
        guard fields.first == Substring(AgentStateLine.prefix) else { return nil }
        loggedIn = 0
        expires = nil
        for field in fields.dropFirst() {
            let pair = field.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            switch pair[0] {
            case "logged_in": loggedIn = Int(pair[1]).map { max(0, min($0, 1_000_000)) } ?? 0
            case "expires": expires = AgentFacts.unixTime(String(pair[1]))
            default: continue
            }
        }
    }

    public var text: String {
        "\(AgentStateLine.prefix) logged_in=\(loggedIn)" + (expires.map { " expires=\(Int($0))" } ?? "")
    }
}
