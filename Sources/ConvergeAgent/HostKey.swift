import CLibSSH
import ConvergeWire

/// The agent's host key: Ed25519, generated in memory once per agent run, never on disk.
/// The agent prints `fingerprint` and `knownHostsLine(hosts:)` so users can pin it.
public final class SSHHostKey {
    /// The private key (ssh_key); each session gets its own copy, since libssh's
    /// ssh_bind takes ownership of the key it is given.
    private let key: OpaquePointer
    /// `ssh-ed25519 AAAA...` (the public half, as in known_hosts and authorized_keys).
    public let publicKeyLine: String
    /// `SHA256:...` as `ssh-keygen -lf` and `ssh -v` print it.
    public let fingerprint: String

    public static func generate() throws(SSHSessionError) -> SSHHostKey {
        var key: ssh_key?
        guard ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) == SSH_OK, let key else {
            throw SSHSessionError("cannot generate an Ed25519 host key")
        }
        return try SSHHostKey(key: key)
    }

    private init(key: OpaquePointer) throws(SSHSessionError) {
        self.key = key
        var encoded: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_pubkey_base64(key, &encoded) == SSH_OK, let encoded else {
            ssh_key_free(key)
            throw SSHSessionError("cannot export the host public key")
        }
        let base64 = String(cString: encoded)
        ssh_string_free_char(encoded)
        publicKeyLine = "ssh-ed25519 " + base64
        fingerprint = KeyFingerprint.sha256(Base64.decode(base64) ?? [])
    }

    deinit { ssh_key_free(key) }

    /// A line for `~/.ssh/known_hosts`, e.g. `[localhost]:10000 ssh-ed25519 AAAA...`.
    public func knownHostsLine(hosts: String) -> String { "\(hosts) \(publicKeyLine)" }

    /// A fresh copy of the private key for one ssh_bind (which frees it).
    func copyForBind() -> OpaquePointer? { ssh_key_dup(key) }
}
