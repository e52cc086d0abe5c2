import COpenSSL

/// A salted, slow hash of a password (PBKDF2-HMAC-SHA256), in the text form
/// `pbkdf2-sha256$ITERATIONS$SALT_BASE64$HASH_BASE64`.
///
/// The server makes one from `CONVERGE_PASSWORD` and hands it to every agent that
/// registers; agents check SSH password logins against it. Anyone may register an
/// agent and so read the hash: the iteration count is what makes guessing expensive.
public struct PasswordHash: Equatable, Sendable {
    public static let defaultIterations = 600_000
    public static let scheme = "pbkdf2-sha256"

    public let iterations: Int
    public let salt: [UInt8]
    public let hash: [UInt8]

    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Makes a fresh hash with a random 16-byte salt.
    public init(password: String, iterations: Int = PasswordHash.defaultIterations) {
        var salt = [UInt8](repeating: 0, count: 16)
        precondition(RAND_bytes(&salt, Int32(salt.count)) == 1, "OpenSSL RAND_bytes failed")
        self.iterations = iterations
        self.salt = salt
        self.hash = PasswordHash.derive(password, salt: salt, iterations: iterations)
    }

    /// Parses the text form; rejects other schemes and implausible parameters.
    public init(parsing text: String) throws(FormatError) {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == Substring(PasswordHash.scheme) else {
            throw FormatError(description: "password hash is not in the form \(PasswordHash.scheme)$ITERATIONS$SALT$HASH")
        }
        guard let iterations = Int(parts[1]), (1_000...10_000_000).contains(iterations) else {
            throw FormatError(description: "password hash has an iteration count outside 1000...10000000")
        }
        guard let salt = Base64.decode(String(parts[2])), salt.count >= 8,
              let hash = Base64.decode(String(parts[3])), hash.count == 32 else {
            throw FormatError(description: "password hash has a malformed salt or digest")
        }
        self.iterations = iterations
        self.salt = salt
        self.hash = hash
    }

    public var encoded: String {
        "\(PasswordHash.scheme)$\(iterations)$\(Base64.encode(salt))$\(Base64.encode(hash))"
    }

    /// Checks a candidate password in constant time with respect to the digest.
    public func matches(_ password: String) -> Bool {
        let candidate = PasswordHash.derive(password, salt: salt, iterations: iterations)
        return CRYPTO_memcmp(candidate, hash, hash.count) == 0
    }

    static func derive(_ password: String, salt: [UInt8], iterations: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let bytes = Array(password.utf8)
        let ok = bytes.withUnsafeBufferPointer { pw in
            PKCS5_PBKDF2_HMAC(pw.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                              Int32(pw.count), salt, Int32(salt.count), Int32(iterations),
                              EVP_sha256(), Int32(out.count), &out)
        }
        precondition(ok == 1, "OpenSSL PKCS5_PBKDF2_HMAC failed")
        return out
    }
}
