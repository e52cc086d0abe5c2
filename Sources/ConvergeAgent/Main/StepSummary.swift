import ConvergeNet
import Glibc

/// GitHub Actions' job summary: when `GITHUB_STEP_SUMMARY` names a file, the agent appends
/// a short Markdown block to it once registered, so the run's page shows how to get in
/// without anyone digging through the log.
enum StepSummary {
    static let variable = "GITHUB_STEP_SUMMARY"

    static func markdown(_ banner: AgentBanner) -> String {
        var text = "### Converge: SSH into this job\n\n"
        text += "- ID: `\(banner.id)`"
        if let wanted = banner.wantedID { text += " (`\(wanted)` is held by another agent)" }
        text += "\n- Host key: `\(banner.hostKey.fingerprint)`\n\n"
        let commands = banner.jumpCommands + banner.wsproxyCommands
        text += "```sh\n" + commands.joined(separator: "\n") + "\n```\n\n"
        text += "Without `ssh -J`: `\(banner.tcptowsCommand)`.\n\n"
        text += "To check the agent's host key, add this line to `~/.ssh/known_hosts`:\n\n"
        text += "```\n\(banner.knownHostsLine)\n```\n\n"
        return text
    }

    /// Appends the block when the variable is set; a failure is logged, never fatal.
    static func append(_ banner: AgentBanner, log: Log) {
        guard let raw = getenv(variable) else { return }
        let path = String(cString: raw)
        guard !path.isEmpty else { return }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            log.write("cannot write the job summary \(path): \(String(cString: strerror(errno)))")
            return
        }
        defer { close(fd) }
        let bytes = Array(markdown(banner).utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written != bytes.count { log.write("cannot write the job summary \(path): \(String(cString: strerror(errno)))") }
        else { log.write("how to connect is in the job summary (\(variable))") }
    }
}
