import ConvergeWire

/// Who may see the operator's view (`/sessions`, `/api/sessions`): HTTP Basic credentials
/// whose password is one of `--admin-token-file`'s tokens (any user name), or the server's
/// own `--user` and its password. Rendezvous IDs are what a person needs to reach a job,
/// so without either the view is off.
public struct AdminAccess: Sendable {
    /// The server's user: its password is kept as a PBKDF2 hash with few iterations. The
    /// agents' hash is slow on purpose (they hand it out); this one never leaves the
    /// process, and the single-threaded master checks it on every request.
    public struct User: Sendable {
        let name: String
        let hash: PasswordHash

        public init(name: String, password: String) {
            self.name = name
            self.hash = PasswordHash(password: password, iterations: 1_000)
        }
    }

    public enum Verdict: Equatable, Sendable {
        /// Neither tokens nor a user: the view does not exist (404).
        case disabled
        case granted
        /// No credentials, or wrong ones (401).
        case denied
    }

    public var tokens: AgentTokens?
    public var user: User?

    public init(tokens: AgentTokens? = nil, user: User? = nil) {
        self.tokens = tokens
        self.user = user
    }

    public var isEnabled: Bool { tokens != nil || user != nil }

    /// The verdict on a request's `Authorization` header.
    public func check(authorization: String?) -> Verdict {
        guard isEnabled else { return .disabled }
        guard let authorization, let (name, password) = AdminAccess.basicCredentials(authorization) else { return .denied }
        if tokens?.accepts(password) == true { return .granted }
        if let user, user.name == name, user.hash.matches(password) { return .granted }
        return .denied
    }

    /// `Basic BASE64(user:password)` (RFC 7617), or nil when it is not that.
    public static func basicCredentials(_ header: String) -> (user: String, password: String)? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = Base64.decode(String(parts[1].trimmingSpaces())),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return (String(decoding: decoded[..<colon], as: UTF8.self), String(decoding: decoded[(colon + 1)...], as: UTF8.self))
    }

    /// The challenge a 401 carries.
    public static let challenge = "Basic realm=\"converge sessions\", charset=\"UTF-8\""
}
