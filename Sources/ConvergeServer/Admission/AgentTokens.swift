import COpenSSL
import ConvergeWire

/// The registration tokens of `converge --agent-token-file`: one per line, blank lines
/// and `#` comments ignored. Agents present one as `X-Converge-Agent-Token`.
public struct AgentTokens: Sendable {
    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Shorter tokens could be guessed; a CI secret of this length costs nothing.
    public static let minimumLength = 16

    let tokens: [[UInt8]]

    public init(parsing text: String) throws(FormatError) {
        var tokens: [[UInt8]] = []
        for (index, raw) in TextLines.of(text).enumerated() {
            var line = raw
            while let last = line.last, last == "\r" || last == " " || last == "\t" { line = line.dropLast() }
            while let first = line.first, first == " " || first == "\t" { line = line.dropFirst() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard line.utf8.count >= AgentTokens.minimumLength, !line.contains(" ") else {
                throw FormatError(description: "line \(index + 1): a token is at least \(AgentTokens.minimumLength) characters without spaces")
            }
            tokens.append(Array(line.utf8))
        }
        guard !tokens.isEmpty else { throw FormatError(description: "no token in the file") }
        self.tokens = tokens
    }

    /// True when `presented` is one of the tokens (compared in constant time per token).
    public func accepts(_ presented: String?) -> Bool {
        guard let presented else { return false }
        let candidate = Array(presented.utf8)
        var accepted = false
        for token in tokens where token.count == candidate.count {
            if CRYPTO_memcmp(token, candidate, token.count) == 0 { accepted = true }
        }
        return accepted
    }
}
