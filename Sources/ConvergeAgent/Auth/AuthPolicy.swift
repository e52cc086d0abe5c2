import COpenSSL
import ConvergeWire

/// How a client proved who it is.
public enum SSHAuthMethod: Equatable, Sendable, CustomStringConvertible {
    /// The rendezvous server's user (`converge --user NAME`) and its password.
    case serverUserPassword
    /// The agent's own password (`CONVERGE_PASSWORD` in the agent's environment).
    case agentPassword
    /// A key from the authorized keys.
    case publicKey

    public var description: String {
        switch self {
        case .serverUserPassword: return "password (server user)"
        case .agentPassword: return "password (agent)"
        case .publicKey: return "publickey"
        }
    }
}

/// Who may log in: any combination of the three sources. Pure: decisions only, no I/O.
public struct SSHAuthPolicy: Sendable {
    public struct ServerUser: Sendable {
        public let name: String
        public let passwordHash: PasswordHash
        public init(name: String, passwordHash: PasswordHash) {
            self.name = name
            self.passwordHash = passwordHash
        }
    }

    public let serverUser: ServerUser?
    public let authorizedKeys: [AuthorizedKey]
    /// Accepted for any user name; empty counts as not set.
    private let agentPassword: [UInt8]?
    /// The agent's local time's offset east of UTC, for `expiry-time=` without `Z`.
    public let utcOffset: Int

    public init(serverUser: ServerUser? = nil, authorizedKeys: [AuthorizedKey] = [], agentPassword: String? = nil, utcOffset: Int = 0) {
        self.serverUser = serverUser
        self.authorizedKeys = authorizedKeys
        self.utcOffset = utcOffset
        if let agentPassword, !agentPassword.isEmpty { self.agentPassword = Array(agentPassword.utf8) } else { self.agentPassword = nil }
    }

    /// True when nobody could ever log in (the agent must refuse to start).
    public var isEmpty: Bool { !offersPassword && !offersPublicKey }
    public var offersPassword: Bool { serverUser != nil || agentPassword != nil }
    public var offersPublicKey: Bool { !authorizedKeys.isEmpty }

    public enum PasswordDecision: Equatable, Sendable {
        case accepted(SSHAuthMethod)
        case rejected(reason: String)
    }

    public func checkPassword(user: String, password: String) -> PasswordDecision {
        guard offersPassword else { return .rejected(reason: "password logins are not enabled") }
        if let serverUser, serverUser.name == user, serverUser.passwordHash.matches(password) {
            return .accepted(.serverUserPassword)
        }
        if let agentPassword, SSHAuthPolicy.constantTimeEqual(agentPassword, Array(password.utf8)) {
            return .accepted(.agentPassword)
        }
        if agentPassword == nil, let serverUser, serverUser.name != user {
            return .rejected(reason: "unknown user (only \(LogText.escaped(serverUser.name)) may use a password)")
        }
        return .rejected(reason: "wrong password")
    }

    public enum KeyDecision: Equatable, Sendable {
        case accepted(AuthorizedKey)
        case rejected(reason: String)
    }

    /// `type` is the client key's type name; `blob` its public key blob; `client` the
    /// address the server announced (`session client=`); `now` seconds since 1970.
    /// As sshd, every line holding the key is tried in order, and the first whose
    /// options allow this login wins; otherwise the first line's refusal is the reason.
    public func checkKey(type: String, blob: [UInt8], client: String, now: Double) -> KeyDecision {
        guard offersPublicKey else { return .rejected(reason: "public key logins are not enabled") }
        if let reason = AuthorizedKeysFile.unsupportedReason(type) {
            return .rejected(reason: "unsupported key type \(LogText.escaped(type)): \(reason)")
        }
        guard AuthorizedKeysFile.supportedTypes.contains(type) else {
            return .rejected(reason: "unsupported key type \(LogText.escaped(type))")
        }
        var firstRefusal: String? = nil
        for key in authorizedKeys where key.blob == blob {
            guard let refusal = refusal(of: key, client: client, now: now) else { return .accepted(key) }
            firstRefusal = firstRefusal ?? refusal
        }
        return .rejected(reason: firstRefusal ?? "key not in the authorized keys")
    }

    /// Why `key`'s options refuse this login, naming the option and the line; nil if none.
    func refusal(of key: AuthorizedKey, client: String, now: Double) -> String? {
        if let from = key.options.from, !from.allows(client: client) {
            return "key option from=\"\(LogText.escaped(from.description, limit: 120))\" (line \(key.line)) does not allow client \(LogText.escaped(client, limit: 60))"
        }
        if let expiry = key.options.expiry, now >= expiry.epoch(utcOffset: utcOffset) {
            return "key option expiry-time=\"\(expiry)\" (line \(key.line)): the key has expired"
        }
        return nil
    }

    /// Compares without an early exit on the first differing byte (length still shows).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 } }
    }
}
