import ConvergeServer
import ConvergeWire
import FuzzSupport

/// Secrets read from a file or the wire.
///
/// Input: mode, then the text.
/// - mode 0: a `--agent-token-file`.
/// - mode 1: the `X-Converge-Password-Hash` value an agent reads from the server's 101.
/// - mode 2: base64 (the hash's fields, `Sec-WebSocket-Key`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSecrets(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte() % 3
    let bytes = input.rest()
    let text = String(decoding: bytes, as: UTF8.self)
    switch mode {
    case 0:
        guard let tokens = try? AgentTokens(parsing: text) else { return 0 }
        // Every token line is accepted as written (trimmed); nothing shorter than the minimum is.
        for line in TextLines.of(text) {
            let token = line.trimmingSpaces()
            guard !token.isEmpty, !token.hasPrefix("#") else { continue }
            require(tokens.accepts(String(token)), "token on line '\(line)' is not accepted")
        }
        require(!tokens.accepts(""), "the empty token is accepted")
        require(!tokens.accepts("short"), "a short token is accepted")
    case 1:
        guard let hash = try? PasswordHash(parsing: text) else { return 0 }
        require((try? PasswordHash(parsing: hash.encoded)) == hash, "hash '\(hash.encoded)' does not parse back")
        require(hash.salt.count >= 8 && hash.hash.count == 32, "hash with a \(hash.salt.count)-byte salt")
    default:
        guard let decoded = Base64.decode(text) else { return 0 }
        require(decoded.count <= text.utf8.count / 4 * 3, "\(decoded.count) bytes from \(text.utf8.count) characters")
        require(Base64.decode(Base64.encode(decoded)) == decoded, "base64 of '\(text)' does not survive encoding")
    }
    return 0
}

extension Substring {
    /// As the token file is read: blanks in front, blanks and CR behind.
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while let last = s.last, last == "\r" || last == " " || last == "\t" { s = s.dropLast() }
        while let first = s.first, first == " " || first == "\t" { s = s.dropFirst() }
        return s
    }
}
