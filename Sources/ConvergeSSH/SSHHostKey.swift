internal import CLibSSH
import ConvergeWire
import Glibc

/// An SSH host key (Ed25519 when generated). The agent generates one in memory per run
/// (never on disk) unless the job brings its own (`load(path:)`, `init(privateKeyText:)`);
/// the server's jump host keeps one in a file, so people can pin it once. Both print
/// `fingerprint` and `knownHostsLine(hosts:)`.
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

    /// The key in `path` (OpenSSH private key format, readable by its owner only), or a
    /// new Ed25519 key written there with mode 0600 when the file does not exist.
    /// `created` says which happened.
    public static func loadOrCreate(path: String) throws(SSHSessionError) -> (key: SSHHostKey, created: Bool) {
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else { throw SSHSessionError("\(path): \(String(cString: strerror(errno)))") }
            let key = try generate()
            try key.save(to: path)
            return (key, true)
        }
        return (try load(path: path), false)
    }

    /// The key in `path`, which must exist (OpenSSH private key format, unencrypted,
    /// readable by its owner only, as OpenSSH asks of its own keys).
    public static func load(path: String) throws(SSHSessionError) -> SSHHostKey {
        var info = stat()
        guard stat(path, &info) == 0 else { throw SSHSessionError("\(path): \(String(cString: strerror(errno)))") }
        guard info.st_mode & 0o077 == 0 else {
            throw SSHSessionError("\(path): a private key must be readable by its owner only (chmod 600 \(path))")
        }
        var loaded: ssh_key?
        guard ssh_pki_import_privkey_file(path, nil, nil, nil, &loaded) == SSH_OK, let loaded else {
            throw SSHSessionError("\(path): not an unencrypted OpenSSH private key")
        }
        return try SSHHostKey(key: loaded)
    }

    /// A private key given as text (`-----BEGIN OPENSSH PRIVATE KEY-----`..., e.g. from a
    /// CI secret). The error never quotes the text.
    public convenience init(privateKeyText text: String) throws(SSHSessionError) {
        var loaded: ssh_key?
        guard ssh_pki_import_privkey_base64(text, nil, nil, nil, &loaded) == SSH_OK, let loaded else {
            throw SSHSessionError("not an unencrypted OpenSSH private key")
        }
        try self.init(key: loaded)
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
        let type = ssh_key_type_to_char(ssh_key_type(key)).map { String(cString: $0) } ?? "ssh-ed25519"
        publicKeyLine = type + " " + base64
        fingerprint = KeyFingerprint.sha256(Base64.decode(base64) ?? [])
    }

    deinit { ssh_key_free(key) }

    /// A line for `~/.ssh/known_hosts`, e.g. `[localhost]:10000 ssh-ed25519 AAAA...`.
    public func knownHostsLine(hosts: String) -> String { "\(hosts) \(publicKeyLine)" }

    /// A fresh copy of the private key for one ssh_bind (which frees it).
    public func copyForBind() -> OpaquePointer? { ssh_key_dup(key) }

    /// Writes the private key to a new file (mode 0600, never over an existing one).
    private func save(to path: String) throws(SSHSessionError) {
        var text: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_privkey_base64(key, nil, nil, nil, &text) == SSH_OK, let text else {
            throw SSHSessionError("cannot export the new host key")
        }
        defer { ssh_string_free_char(text) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SSHSessionError("cannot create \(path): \(String(cString: strerror(errno)))") }
        let length = strlen(text)
        let written = Glibc.write(fd, text, length)
        let synced = fsync(fd) == 0
        close(fd)
        guard written == length, synced else {
            unlink(path)
            throw SSHSessionError("cannot write \(path)")
        }
    }
}
