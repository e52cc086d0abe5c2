import ConvergeWire

/// One usable line of an OpenSSH `authorized_keys` file.
public struct AuthorizedKey: Equatable, Sendable {
    /// The key type as written, e.g. `ssh-ed25519`.
    public let type: String
    /// The decoded public key blob (what an SSH client sends).
    public let blob: [UInt8]
    public let comment: String
    /// The options prefix as written (`no-pty,from="..."`), or empty.
    public let optionsText: String
    /// The options, enforced at login and in the session as sshd enforces them.
    public let options: KeyOptions
    /// Line number in the file, from 1.
    public let line: Int

    /// `SHA256:...` as `ssh-keygen -lf` prints it.
    public var fingerprint: String { KeyFingerprint.sha256(blob) }

    /// How the start-up log names it: `ssh-ed25519 key SHA256:… (comment) with options …`.
    public var logDescription: String {
        var text = "\(type) key \(fingerprint)"
        if !comment.isEmpty { text += " (\(LogText.escaped(comment)))" }
        if !optionsText.isEmpty { text += " with options \"\(LogText.escaped(optionsText, limit: 200))\"" }
        return text
    }
}

/// A parsed `authorized_keys` file: the keys, and one entry per line that was skipped or
/// needs a word of warning (with its line number), so the agent can print them at start.
public struct AuthorizedKeysFile: Equatable, Sendable {
    public struct Issue: Equatable, Sendable, CustomStringConvertible {
        public let line: Int
        public let message: String
        /// True when the line gave no key; false for a warning about a key that was kept.
        public let skipped: Bool
        public var description: String { "line \(line): \(message)" }
    }

    public let keys: [AuthorizedKey]
    public let issues: [Issue]

    /// Key types the embedded server (libssh 0.10) can verify.
    public static let supportedTypes: Set<String> = [
        "ssh-ed25519", "ssh-rsa",
        "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    ]

    /// Recognised key types we refuse, with the reason.
    static func unsupportedReason(_ type: String) -> String? {
        if type == "ssh-dss" { return "DSA keys are not supported" }
        if type.hasSuffix("-cert-v01@openssh.com") { return "certificates are not supported" }
        return nil
    }

    public init(parsing text: String) {
        var keys: [AuthorizedKey] = []
        var issues: [Issue] = []
        // Bytes, not Characters: every separator is ASCII, "\r\n" is not one unit, and a
        // file read once at start should not cost more than a look at each byte.
        let bytes = Array(text.utf8)
        for (index, rawLine) in bytes.split(separator: newline, omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var line = rawLine.drop(while: isBlank)
            while let last = line.last, isBlank(last) || last == carriageReturn { line.removeLast() }
            guard let first = line.first, first != UInt8(ascii: "#") else { continue }
            switch AuthorizedKeysFile.parseLine(line, number: number) {
            case .key(let key):
                keys.append(key)
            case .issue(let message):
                issues.append(Issue(line: number, message: message, skipped: true))
            }
        }
        self.keys = keys
        self.issues = issues
    }

    enum LineResult { case key(AuthorizedKey), issue(String) }

    /// One line without its surrounding blanks, as UTF-8.
    static func parseLine(_ line: ArraySlice<UInt8>, number: Int) -> LineResult {
        var fields = line
        var options = ""
        guard let first = nextField(&fields, quoted: true) else { return .issue("empty line") }
        var type = first
        if !looksLikeKeyType(first) {
            // An options prefix: one field that may hold quoted strings with spaces.
            options = first
            guard let next = nextField(&fields, quoted: false) else {
                return .issue("expected a key type after the options")
            }
            type = next
        }
        if let reason = unsupportedReason(type) { return .issue("unsupported key type \(LogText.escaped(type)): \(reason)") }
        guard supportedTypes.contains(type) else {
            if looksLikeKeyType(type) { return .issue("unsupported key type \(LogText.escaped(type))") }
            return .issue("expected a key type, found \"\(LogText.escaped(type, limit: 40))\"")
        }
        guard let encoded = nextField(&fields, quoted: false) else { return .issue("missing key data after \(type)") }
        guard let blob = Base64.decode(encoded) else { return .issue("key data is not valid base64") }
        guard blobType(blob) == type else { return .issue("key data does not hold a \(type) key") }
        let parsedOptions: KeyOptions
        do {
            parsedOptions = try KeyOptions(parsing: options)
        } catch {
            // Fail closed: a restriction we cannot read must not become no restriction.
            return .issue("options: \(error.description); the key is not used")
        }
        let comment = String(decoding: fields.drop(while: isBlank), as: UTF8.self)
        return .key(AuthorizedKey(type: type, blob: blob, comment: comment, optionsText: options, options: parsedOptions, line: number))
    }

    /// Key types are lowercase words with dashes, possibly with an @domain suffix; an options
    /// prefix contains `=`, `"` or `,`, or is a known bare option such as `restrict`.
    static func looksLikeKeyType(_ field: String) -> Bool {
        guard !field.isEmpty, !field.utf8.contains(where: { $0 == UInt8(ascii: "=") || $0 == quote || $0 == UInt8(ascii: ",") }) else { return false }
        if bareOptions.contains(field) { return false }
        return field.hasPrefix("ssh-") || field.hasPrefix("ecdsa-") || field.hasPrefix("sk-") || field.utf8.contains(UInt8(ascii: "@"))
    }

    private static let bareOptions: Set<String> = [
        "restrict", "cert-authority", "no-pty", "no-agent-forwarding", "no-port-forwarding",
        "no-x11-forwarding", "no-user-rc", "no-touch-required", "verify-required",
        "pty", "agent-forwarding", "port-forwarding", "x11-forwarding", "user-rc", "touch-required",
    ]

    /// Takes the next blank-separated field; with `quoted`, blanks inside double quotes
    /// do not end it and `\"` is not a quote (sshd's `sshkey_advance_past_options`, so
    /// both read the same field). Fields end at ASCII bytes, so each is whole UTF-8.
    static func nextField(_ rest: inout ArraySlice<UInt8>, quoted: Bool) -> String? {
        rest = rest.drop(while: isBlank)
        guard !rest.isEmpty else { return nil }
        var end = rest.startIndex
        var inQuotes = false
        while end < rest.endIndex {
            let c = rest[end]
            if quoted && c == backslash && end + 1 < rest.endIndex && rest[end + 1] == quote {
                end += 2
                continue
            }
            if quoted && c == quote { inQuotes.toggle() }
            else if !inQuotes && isBlank(c) { break }
            end += 1
        }
        let field = String(decoding: rest[..<end], as: UTF8.self)
        rest = rest[end...]
        return field
    }

    /// The type name at the start of an SSH public key blob (uint32 length + name).
    static func blobType(_ blob: [UInt8]) -> String? {
        guard blob.count >= 4 else { return nil }
        let length = Int(blob[0]) << 24 | Int(blob[1]) << 16 | Int(blob[2]) << 8 | Int(blob[3])
        guard length > 0, length <= 64, blob.count >= 4 + length else { return nil }
        return String(decoding: blob[4..<(4 + length)], as: UTF8.self)
    }
}

private let newline = UInt8(ascii: "\n")
private let carriageReturn = UInt8(ascii: "\r")
private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")
private func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
