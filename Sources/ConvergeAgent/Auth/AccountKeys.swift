/// `--github-user NAME` and `--gitlab-user NAME`: shorthands for the keys URL of an
/// account. GitHub (and GitHub Enterprise Server) and GitLab serve an account's public
/// keys at `BASE/NAME.keys`; the base is `--github-url` / `--gitlab-url` (a self-hosted
/// instance), by default the public services.
public enum AccountKeys {
    public static let gitHub = "https://github.com"
    public static let gitLab = "https://gitlab.com"

    /// Where to fetch the keys, and how errors name it (`--github-user NAME`).
    public struct Source: Equatable, Sendable {
        public let url: String
        public let flag: String
        public init(url: String, flag: String) {
            self.url = url
            self.flag = flag
        }
    }

    public struct BadName: Error, CustomStringConvertible {
        public let description: String
    }

    /// `BASE/NAME.keys`. NAME is what both services allow in account names (letters,
    /// digits, `.`, `_`, `-`), so it can never reach another path or host.
    public static func source(base: String, user: String, flag: String) throws(BadName) -> Source {
        let allowed = user.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
        guard allowed, (1...255).contains(user.utf8.count), !user.hasPrefix("."), !user.hasPrefix("-") else {
            throw BadName(description: "\(flag): \"\(user.prefix(64))\" is not an account name (letters, digits, . _ -)")
        }
        var trimmed = Substring(base)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return Source(url: "\(trimmed)/\(user).keys", flag: "\(flag) \(user)")
    }
}
