import COpenSSL
import ConvergeWire

/// OpenSSH-style fingerprints: `SHA256:` + unpadded base64 of the SHA-256 of the key blob.
public enum KeyFingerprint {
    public static func sha256(_ blob: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        _ = blob.withUnsafeBufferPointer { SHA256($0.baseAddress, $0.count, &digest) }
        var text = Base64.encode(digest)
        while text.hasSuffix("=") { text.removeLast() }
        return "SHA256:" + text
    }
}
