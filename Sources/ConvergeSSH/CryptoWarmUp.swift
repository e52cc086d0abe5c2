import COpenSSL

/// OpenSSL 3 builds its algorithm tables the first time a process uses each algorithm,
/// which cost a fresh process about 40 ms of its first SSH key exchange. A server that
/// forks a process per connection does this once, before forking: the children inherit
/// the warm tables (copy-on-write) and answer at once.
public enum CryptoWarmUp {
    public static func run() {
        for name in ["SHA1", "SHA256", "SHA384", "SHA512"] { EVP_MD_free(EVP_MD_fetch(nil, name, nil)) }
        for name in ["AES-128-GCM", "AES-256-GCM", "AES-128-CTR", "AES-192-CTR", "AES-256-CTR", "ChaCha20"] {
            EVP_CIPHER_free(EVP_CIPHER_fetch(nil, name, nil))
        }
        for name in ["HMAC"] { EVP_MAC_free(EVP_MAC_fetch(nil, name, nil)) }
        // Key agreement (curve25519-sha256, ecdh-sha2-nistp256) and host key signatures (ssh-ed25519).
        let x25519 = generate("X25519")
        let peer = generate("X25519")
        if let x25519, let peer, let ctx = EVP_PKEY_CTX_new(x25519, nil) {
            var length = 64
            var secret = [UInt8](repeating: 0, count: 64)
            if EVP_PKEY_derive_init(ctx) == 1, EVP_PKEY_derive_set_peer(ctx, peer) == 1 { _ = EVP_PKEY_derive(ctx, &secret, &length) }
            EVP_PKEY_CTX_free(ctx)
        }
        EVP_PKEY_free(x25519)
        EVP_PKEY_free(peer)
        EVP_PKEY_free(generate("EC", curve: "P-256"))
        if let ed25519 = generate("ED25519"), let md = EVP_MD_CTX_new() {
            var signature = [UInt8](repeating: 0, count: 64)
            var length = 64
            let message: [UInt8] = Array("warm".utf8)
            if EVP_DigestSignInit(md, nil, nil, nil, ed25519) == 1 {
                _ = EVP_DigestSign(md, &signature, &length, message, message.count)
            }
            EVP_MD_CTX_free(md)
            EVP_PKEY_free(ed25519)
        }
    }

    private static func generate(_ type: String, curve: String? = nil) -> OpaquePointer? {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { return nil }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1 else { return nil }
        if let curve, EVP_PKEY_CTX_set_group_name(ctx, curve) != 1 { return nil }
        var key: OpaquePointer?
        return EVP_PKEY_keygen(ctx, &key) == 1 ? key : nil
    }
}
