import Testing
@testable import ConvergeWire

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

private func parseError(_ text: String) -> PasswordHash.FormatError? {
    do {
        _ = try PasswordHash(parsing: text)
        return nil
    } catch {
        return error
    }
}

@Suite struct PasswordHashTests {
    // PBKDF2-HMAC-SHA256 test vectors (as published for RFC 6070's inputs with SHA-256).
    @Test func knownVectors() {
        let salt = Array("salt".utf8)
        #expect(hex(PasswordHash.derive("password", salt: salt, iterations: 1)) == "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")
        #expect(hex(PasswordHash.derive("password", salt: salt, iterations: 2)) == "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43")
        #expect(hex(PasswordHash.derive("password", salt: salt, iterations: 4096)) == "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a")
    }

    @Test func matchesOnlyThePassword() {
        let hash = PasswordHash(password: "correct horse", iterations: 1000)
        #expect(hash.iterations == 1000 && hash.salt.count == 16 && hash.hash.count == 32)
        #expect(hash.matches("correct horse"))
        #expect(!hash.matches("correct horse "))
        #expect(!hash.matches("Correct horse"))
        #expect(!hash.matches(""))
    }

    @Test func emptyAndUnicodePasswords() {
        let empty = PasswordHash(password: "", iterations: 1000)
        #expect(empty.matches(""))
        #expect(!empty.matches(" "))
        let unicode = PasswordHash(password: "pässwörd 🔑", iterations: 1000)
        #expect(unicode.matches("pässwörd 🔑"))
        #expect(!unicode.matches("passwort 🔑"))
    }

    @Test func saltsAreFresh() {
        let a = PasswordHash(password: "same", iterations: 1000), b = PasswordHash(password: "same", iterations: 1000)
        #expect(a.salt != b.salt && a.hash != b.hash)
        #expect(a.matches("same") && b.matches("same"))
    }

    @Test func textFormRoundTrips() throws {
        let hash = PasswordHash(password: "secret", iterations: 1000)
        let text = hash.encoded
        #expect(text.hasPrefix("pbkdf2-sha256$1000$"))
        #expect(text.split(separator: "$").count == 4)
        #expect(!text.contains("secret"))
        let parsed = try PasswordHash(parsing: text)
        #expect(parsed == hash)
        #expect(parsed.matches("secret"))
        #expect(!parsed.matches("Secret"))
    }

    @Test func parsesAKnownHash() throws {
        let salt = Base64.encode(Array("saltsalt".utf8))
        let digest = Base64.encode(PasswordHash.derive("pw", salt: Array("saltsalt".utf8), iterations: 1000))
        let parsed = try PasswordHash(parsing: "pbkdf2-sha256$1000$\(salt)$\(digest)")
        #expect(parsed.matches("pw") && !parsed.matches("pW"))
    }

    @Test func malformedTextIsRejected() {
        let salt = Base64.encode([UInt8](repeating: 1, count: 16))
        let digest = Base64.encode([UInt8](repeating: 2, count: 32))
        #expect(parseError("pbkdf2-sha256$1000$\(salt)$\(digest)") == nil)
        for bad in [
            "", "pbkdf2-sha256", "pbkdf2-sha256$1000$\(salt)", "pbkdf2-sha256$1000$\(salt)$\(digest)$",
            "pbkdf2-sha1$1000$\(salt)$\(digest)", "PBKDF2-SHA256$1000$\(salt)$\(digest)", "bcrypt$1000$\(salt)$\(digest)",
            "pbkdf2-sha256$999$\(salt)$\(digest)", "pbkdf2-sha256$10000001$\(salt)$\(digest)", "pbkdf2-sha256$$\(salt)$\(digest)",
            "pbkdf2-sha256$-1000$\(salt)$\(digest)", "pbkdf2-sha256$1e3$\(salt)$\(digest)", "pbkdf2-sha256$ 1000$\(salt)$\(digest)",
            "pbkdf2-sha256$1000$\(Base64.encode([1, 2, 3, 4, 5, 6, 7]))$\(digest)",      // salt under 8 bytes
            "pbkdf2-sha256$1000$$\(digest)",
            "pbkdf2-sha256$1000$\(salt)$\(Base64.encode([UInt8](repeating: 2, count: 31)))",  // digest not 32 bytes
            "pbkdf2-sha256$1000$\(salt)$\(Base64.encode([UInt8](repeating: 2, count: 33)))",
            "pbkdf2-sha256$1000$not*base64$\(digest)", "pbkdf2-sha256$1000$\(salt)$\(digest.dropLast())",
        ] {
            #expect(parseError(bad) != nil, "\(bad)")
        }
        #expect(parseError("pbkdf2-sha256$10000000$\(salt)$\(digest)") == nil)
    }
}
