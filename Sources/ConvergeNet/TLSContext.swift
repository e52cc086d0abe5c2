import COpenSSL
import Glibc

/// Client TLS settings, loaded once (a process that forks per connection loads the CA
/// certificates before forking and every child reuses them).
///
/// Verification is on unless `verify` is false (`--insecure`; the caller prints the
/// warning): chain against the system CAs, or only against `caFile` when one is given,
/// and the server's name (DNS or IP) against the certificate.
public final class TLSContext {
    let context: OpaquePointer
    public let verifies: Bool

    /// CA bundles of the common glibc distributions. A statically linked agent carries the
    /// OpenSSL directory of the machine it was built on, which other distributions lack.
    static let systemBundles = [
        "/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Arch, Gentoo
        "/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL, CentOS
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // newer RHEL
        "/etc/ssl/ca-bundle.pem",                            // openSUSE
        "/etc/ssl/cert.pem",                                 // Alpine, others
    ]

    public init(caFile: String? = nil, verify: Bool = true) throws(NetError) {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw TLSContext.failure("cannot create a TLS context") }
        context = ctx
        verifies = verify
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        // Partial writes: a relay writes what the socket takes and keeps the rest, and may
        // retry from a moved buffer. Read-ahead: fewer read syscalls per TLS record.
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), nil)
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_READ_AHEAD, 1, nil)
        // A peer dropping TCP without close_notify is an ordinary end of stream to us:
        // WebSocket close frames say whether a session ended cleanly.
        _ = SSL_CTX_set_options(ctx, UInt64(1) << 7 /* SSL_OP_IGNORE_UNEXPECTED_EOF */)
        guard verify else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
            return
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        if let caFile {
            // Check readability first: OpenSSL's own error for a missing file is vague.
            // (No SSL_CTX_free on these paths: deinit runs once init has set every property.)
            guard let file = fopen(caFile, "r") else {
                let code = errno
                throw NetError.system(.invalid, "cannot read CA file \(caFile)", code: code)
            }
            fclose(file)
            ERR_clear_error()
            guard SSL_CTX_load_verify_locations(ctx, caFile, nil) == 1 else {
                throw TLSContext.failure("cannot load CA certificates from \(caFile)")
            }
        } else {
            SSL_CTX_set_default_verify_paths(ctx)
            if getenv("SSL_CERT_FILE") == nil, let bundle = TLSContext.systemBundles.first(where: { access($0, R_OK) == 0 }) {
                SSL_CTX_load_verify_locations(ctx, bundle, nil)
            }
            ERR_clear_error()
        }
    }

    deinit { SSL_CTX_free(context) }

    /// `TLS: <what>: <OpenSSL's reason>` from the thread's error queue, which is cleared.
    static func failure(_ what: String) -> NetError {
        let reason = errorQueueReason()
        return NetError(.tls, reason.isEmpty ? "TLS: \(what)" : "TLS: \(what): \(reason)")
    }

    /// The reason text of the earliest queued OpenSSL error ("wrong version number"), or "".
    static func errorQueueReason() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "" }
        if let reason = ERR_reason_error_string(code) { return String(cString: reason) }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
