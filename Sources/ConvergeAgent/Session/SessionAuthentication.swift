import CLibSSH
import CShims
import ConvergeNet
import ConvergeWire
import Glibc

/// Authentication callbacks: the policy decides, the throttle limits and slows failures,
/// every login and failed login is logged with user, method and key fingerprint.
extension SSHServerSession {
    func authenticate(user: String, password: String) -> Int32 {
        switch configuration.auth.checkPassword(user: user, password: password) {
        case .accepted(let method):
            loggedIn(user: user, method: method, key: nil)
            return Int32(SSH_AUTH_SUCCESS.rawValue)
        case .rejected(let reason):
            authFailed(user: user, method: "password", key: nil, reason: reason, isGuess: true)
            return Int32(SSH_AUTH_DENIED.rawValue)
        }
    }

    func authenticate(user: String, key: OpaquePointer?, signatureState: Int32) -> Int32 {
        let denied = Int32(SSH_AUTH_DENIED.rawValue)
        guard let key, let offered = ClientKey(key) else {
            authFailed(user: user, method: "publickey", key: nil, reason: "unreadable key", isGuess: false)
            return denied
        }
        if signatureState == SSH_PUBLICKEY_STATE_WRONG.rawValue || signatureState == SSH_PUBLICKEY_STATE_ERROR.rawValue {
            authFailed(user: user, method: "publickey", key: offered, reason: "bad signature", isGuess: true)
            return denied
        }
        switch configuration.auth.checkKey(type: offered.type, blob: offered.blob, client: configuration.client, now: Clock.now()) {
        case .rejected(let reason):
            authFailed(user: user, method: "publickey", key: offered, reason: reason, isGuess: false)
            return denied
        case .accepted(let authorized):
            // NONE is the client asking whether we would take this key (answer: PK_OK);
            // only VALID (a verified signature) logs in.
            guard signatureState == SSH_PUBLICKEY_STATE_VALID.rawValue else { return Int32(SSH_AUTH_SUCCESS.rawValue) }
            keyOptions = authorized.options
            loggedIn(user: user, method: .publicKey, key: offered, comment: authorized.comment, options: authorized.optionsText)
            return Int32(SSH_AUTH_SUCCESS.rawValue)
        }
    }

    private func loggedIn(user: String, method: SSHAuthMethod, key: ClientKey?, comment: String = "", options: String = "") {
        self.user = user
        loginTime = Clock.monotonic()
        var keyText = key.map { " key \($0.type) \($0.fingerprint)" + (comment.isEmpty ? "" : " (\(LogText.escaped(comment, limit: 80)))") } ?? ""
        if !options.isEmpty { keyText += " with options \"\(LogText.escaped(options, limit: 200))\"" }
        log("login: user \"\(LogText.escaped(user))\" method \(method)\(keyText)")
        onEvent?(.loggedIn(user: user, method: method, keyFingerprint: key?.fingerprint))
    }

    private func authFailed(user: String, method: String, key: ClientKey?, reason: String, isGuess: Bool) {
        let delay = throttle.recordFailure(isGuess: isGuess)
        let keyText = key.map { " key \(LogText.escaped($0.type)) \($0.fingerprint)" } ?? ""
        let exhausted = throttle.isExhausted
        var count = "failure \(throttle.failures) of \(throttle.maxFailures)"
        if !exhausted && delay > 0 {
            count += "; answered after \(Int(delay))s"
            if throttle.priorGuesses > 0 { count += ", \(throttle.priorGuesses) earlier failed guess(es) from this address" }
        }
        log("login failed: user \"\(LogText.escaped(user))\" method \(method)\(keyText): \(reason) (\(count))")
        onEvent?(.loginFailed(user: user, method: method, reason: reason, isGuess: isGuess))
        if exhausted {
            endReason = "too many authentication failures: \(throttle.maxFailures) (limit: max_auth_tries)"
        } else if delay > 0 {
            // Blocks this connection's process only, and only before login.
            usleep(UInt32(delay * 1_000_000))
        }
    }
}

/// The client's public key as offered during authentication.
struct ClientKey {
    let type: String
    let blob: [UInt8]
    let fingerprint: String

    init?(_ key: OpaquePointer) {
        guard let name = ssh_key_type_to_char(ssh_key_type(key)) else { return nil }
        var encoded: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_pubkey_base64(key, &encoded) == SSH_OK, let encoded else { return nil }
        defer { ssh_string_free_char(encoded) }
        guard let blob = Base64.decode(String(cString: encoded)) else { return nil }
        type = String(cString: name)
        self.blob = blob
        fingerprint = KeyFingerprint.sha256(blob)
    }
}
