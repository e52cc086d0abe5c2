import ConvergeNet
import ConvergeWire
import Glibc

/// What the agent tells the server about where it runs, for the operator's view
/// (docs/protocol.md: optional headers of `/agent/ID`): its version, host name, OS, user,
/// working directory and the CI job's page. Read once at start: none of it changes.
enum AgentDescription {
    static let version = "converge-agent 0.1"

    /// The facts, with `waitUntil` (when the agent stops waiting for a first login).
    static func facts(waitUntil: Double?, environment: (String) -> String? = AgentDescription.environment) -> AgentFacts {
        var facts = AgentFacts()
        facts.version = version
        facts.host = hostName()
        facts.os = operatingSystem()
        facts.user = userName() ?? environment("USER") ?? "uid \(geteuid())"
        facts.directory = workingDirectory()
        facts.jobURL = jobURL(environment)
        facts.waitUntil = waitUntil
        return facts
    }

    /// The CI job's page, from what GitHub Actions, GitLab CI and Jenkins put in a job's
    /// environment; nil elsewhere.
    static func jobURL(_ environment: (String) -> String?) -> String? {
        if let server = environment("GITHUB_SERVER_URL"), let repository = environment("GITHUB_REPOSITORY"), let run = environment("GITHUB_RUN_ID") {
            return "\(server)/\(repository)/actions/runs/\(run)"
        }
        return environment("CI_JOB_URL") ?? environment("BUILD_URL")
    }

    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        return String(cString: buffer)
    }

    /// `Debian GNU/Linux 12 (bookworm), Linux 6.1.0 x86_64`: the distribution when
    /// /etc/os-release names it, then the kernel.
    static func operatingSystem() -> String? {
        var names = utsname()
        let kernel = uname(&names) == 0 ? [names.sysname, names.release, names.machine].map { field in
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }.joined(separator: " ") : nil
        let pretty = TextFile.read("/etc/os-release", limit: 8192).flatMap { text in
            TextLines.of(text).first { $0.hasPrefix("PRETTY_NAME=") }.map { line in
                String(line.dropFirst("PRETTY_NAME=".count).filter { $0 != "\"" && $0 != "'" })
            }
        }
        return [pretty, kernel].compactMap { $0 }.joined(separator: ", ")
    }

    /// The effective user's name from /etc/passwd, read directly: the agent is static,
    /// and glibc's getpwuid would need NSS libraries a job's image may not have.
    static func userName() -> String? {
        let uid = String(geteuid())
        return TextFile.read("/etc/passwd").flatMap { text in
            TextLines.of(text).lazy.map { $0.split(separator: ":", omittingEmptySubsequences: false) }
                .first { $0.count > 2 && $0[2] == Substring(uid) }.map { String($0[0]) }
        }
    }

    static func workingDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return nil }
        return String(cString: buffer)
    }
}
