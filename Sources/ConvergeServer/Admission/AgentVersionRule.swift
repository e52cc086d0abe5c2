/// Which agents this server serves, by the version they send when they register
/// (`X-Converge-Agent-Version: converge-agent 0.1.0`); the rule is written in docs/protocol.md.
///
/// - no version, or one that is not `MAJOR.MINOR.PATCH[-SUFFIX]` (an agent from before
///   the rule, or another implementation; the header is also a free-text fact for the
///   operator's view): served;
/// - a development build (`0.0.0-dev`, built from source beside the server): served;
/// - older than `oldestAgent`: refused (it speaks a protocol this server has dropped);
/// - a newer major version than the server's own (a stamped server): refused.
/// A refused agent is told to download the agent again from this server's /docs/agent.
public struct AgentVersionRule: Sendable {
    /// The oldest agent version this server serves.
    public static let oldestAgent = ReleaseVersion(major: 0, minor: 1, patch: 0)

    /// The server's own version (its stamp), e.g. `0.1.0` or `0.0.0-dev`.
    public let serverVersion: String

    public init(serverVersion: String) { self.serverVersion = serverVersion }

    /// `converge-agent 0.1.0` (what our agent sends) or a bare `0.1.0`: the version.
    static func versionPart(of header: String) -> String {
        header.hasPrefix("converge-agent ") ? String(header.dropFirst("converge-agent ".count)) : header
    }

    /// Nil when the agent is served; otherwise why not, for the refusal's body.
    public func refusal(agentVersion: String?) -> String? {
        guard let agentVersion, let agent = ReleaseVersion(parsing: Self.versionPart(of: agentVersion)) else { return nil }
        if agent.isDevelopment { return nil }
        if agent < Self.oldestAgent {
            return "this agent (\(agent)) is older than the oldest this server (\(serverVersion)) serves, \(Self.oldestAgent)"
        }
        if let server = ReleaseVersion(parsing: serverVersion), !server.isDevelopment, agent.major > server.major {
            return "this agent (\(agent)) is newer than this server (\(serverVersion)) serves"
        }
        return nil
    }
}

/// `MAJOR.MINOR.PATCH` with an optional `-SUFFIX`, ordered by its numbers.
public struct ReleaseVersion: Comparable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int
    public var suffix = ""

    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    public init?(parsing text: String) {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let numbers = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count == 3, text.count <= 64,
              numbers.allSatisfy({ !$0.isEmpty && $0.count <= 9 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let major = Int(numbers[0]), let minor = Int(numbers[1]), let patch = Int(numbers[2]) else { return nil }
        self.init(major: major, minor: minor, patch: patch)
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == ".") }) else { return nil }
            suffix = String(parts[1])
        }
    }

    /// A build from source (`0.0.0-dev`): no release, no promise, served as is.
    public var isDevelopment: Bool { suffix == "dev" && major == 0 && minor == 0 && patch == 0 }

    public var description: String { "\(major).\(minor).\(patch)" + (suffix.isEmpty ? "" : "-\(suffix)") }

    public static func < (a: ReleaseVersion, b: ReleaseVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    public static func == (a: ReleaseVersion, b: ReleaseVersion) -> Bool {
        (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch)
    }
}
