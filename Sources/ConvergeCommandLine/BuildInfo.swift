import CShims

/// The version and git commit this program was built from. `make dist` stamps them into
/// the finished binaries; any other build says `0.0.0-dev` and `unknown`.
///
/// ```swift
/// CommandConfiguration(commandName: "wsproxy", version: BuildInfo.current.versionLine)
/// ```
public struct BuildInfo: Equatable, Sendable {
    public let version: String
    public let commit: String

    public init(version: String, commit: String) {
        self.version = version
        self.commit = commit
    }

    public static let development = BuildInfo(version: "0.0.0-dev", commit: "unknown")

    /// This binary's stamp.
    public static let current = BuildInfo(stamp: String(cString: cshim_build_stamp()))

    /// Reads a stamp, `VERSION COMMIT`; anything else (a broken stamp) is the development build.
    public init(stamp: String) {
        let fields = stamp.split(separator: " ", omittingEmptySubsequences: true)
        let printable = { (text: Substring) in text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F } }
        guard fields.count == 2, fields.allSatisfy(printable) else {
            self = .development
            return
        }
        self.init(version: String(fields[0]), commit: String(fields[1]))
    }

    /// What `--version` prints: `0.3.0 (commit 1a2b3c4d5e6f)`.
    public var versionLine: String { "\(version) (commit \(commit))" }
}
