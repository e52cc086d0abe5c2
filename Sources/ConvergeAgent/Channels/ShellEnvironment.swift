import Glibc

/// What a session's children run with: which shell, and which environment (the agent's
/// own, so the shell sees the CI job's variables, plus what the client may set).
public struct ShellEnvironment: Sendable {
    /// Absolute path of the shell for `shell` and `exec` requests.
    public let shell: String
    /// `NAME=value` entries.
    public let base: [String]

    /// Variables a client may set with `env` requests (like OpenSSH's usual AcceptEnv).
    static func clientMaySet(_ name: String) -> Bool {
        name == "TERM" || name == "LANG" || name.hasPrefix("LC_")
    }

    /// Variables never passed on to children: the agent's own secret.
    static let withheld: Set<String> = ["CONVERGE_PASSWORD"]

    public init(shell: String, base: [String]) {
        self.shell = shell
        self.base = base.filter { !ShellEnvironment.withheld.contains(String(ShellEnvironment.name(of: $0))) }
    }

    /// `--shell` if given, else $SHELL, else /bin/bash, else /bin/sh; the current
    /// process environment as the base.
    public static func current(shellOverride: String? = nil) -> ShellEnvironment {
        let base = currentEnvironment()
        let fromEnv = base.first { name(of: $0) == "SHELL" }.map { String($0.dropFirst("SHELL=".count)) }
        let candidates = [shellOverride, fromEnv, "/bin/bash"].compactMap { $0 }.filter { !$0.isEmpty }
        let shell = candidates.first { access($0, X_OK) == 0 } ?? "/bin/sh"
        return ShellEnvironment(shell: shell, base: base)
    }

    static func currentEnvironment() -> [String] {
        var result: [String] = []
        var entry: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        while let current = entry, let pointer = current.pointee {
            result.append(String(cString: pointer))
            entry = current + 1
        }
        return result
    }

    static func name(of entry: String) -> Substring {
        entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }

    /// The base environment with `overrides` replacing or adding entries.
    func environment(overriding overrides: [(String, String)]) -> [String] {
        let names = Set(overrides.map { $0.0 })
        return base.filter { !names.contains(String(ShellEnvironment.name(of: $0))) } + overrides.map { "\($0.0)=\($0.1)" }
    }

    /// argv for an interactive shell (not a login shell: a login shell's profile may reset
    /// PATH and lose the job's environment).
    func shellArguments() -> [String] { [basename(shell)] }

    /// argv for `exec`: `SHELL -c COMMAND`, as OpenSSH does.
    func commandArguments(_ command: String) -> [String] { [basename(shell), "-c", command] }

    private func basename(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
