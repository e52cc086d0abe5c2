import ConvergeWire

/// What the agent prints once it is reachable: everything a person needs to connect,
/// copied straight from the CI log.
struct AgentBanner {
    let id: String
    /// The ID asked for, when another agent held it and `id` was taken instead.
    var wantedID: String? = nil
    let server: ServerURL
    let hostKey: SSHHostKey
    let serverUser: String?
    let keyCount: Int
    let hasAgentPassword: Bool
    /// The server's jump host, if it has one: `ssh -J` comes first then.
    let jump: AgentRegistration.JumpHost?

    var hostAlias: String { "converge-\(id)" }
    var base: String { server.with(path: AgentRegistration.basePath(of: server)).description }
    var clientURL: String { "\(base)/client/\(id)" }
    var knownHostsLine: String { hostKey.knownHostsLine(hosts: hostAlias) }
    private var user: String { serverUser ?? "USER" }
    private var proxyOptions: String { "-oServerAliveInterval=10 -oHostKeyAlias=\(hostAlias) -oProxyCommand=\"wsproxy \(clientURL)\"" }

    /// `ssh -J` and `sftp -J` through the server's jump host, when it has one.
    var jumpCommands: [String] {
        guard let jump else { return [] }
        // With -J the destination is the ID; the alias lets one known_hosts line serve both ways in.
        let target = jump.port == 22 ? server.host : "\(server.host):\(jump.port)"
        return ["ssh", "sftp"].map { "\($0) -J \(target) -oHostKeyAlias=\(hostAlias) \(user)@\(id)" }
    }

    /// `ssh` and `sftp` with wsproxy as the ProxyCommand.
    var wsproxyCommands: [String] { ["ssh", "sftp"].map { "\($0) \(proxyOptions) \(user)@localhost" } }

    var tcptowsCommand: String { "tcptows \(clientURL) (then ssh -p 10000 \(user)@localhost)" }

    var lines: [String] {
        var logins: [String] = []
        if let serverUser { logins.append("user \(LogText.escaped(serverUser)) with the server's password") }
        if keyCount > 0 { logins.append("\(keyCount) authorized key\(keyCount == 1 ? "" : "s")") }
        if hasAgentPassword { logins.append("the password in CONVERGE_PASSWORD") }
        var lines = [
            "agent ready: ID \(id) is registered at \(base)" + (wantedID.map { " (\($0) is held by another agent)" } ?? ""),
            "host key: \(hostKey.fingerprint)",
            "known_hosts: \(knownHostsLine)",
            "log in with: \(logins.joined(separator: ", "))",
        ]
        if let jump {
            lines += jumpCommands.map { "connect: \($0)" }
            if let key = jump.publicKeyLine {
                lines.append("jump host known_hosts: \(jump.port == 22 ? server.host : "[\(server.host)]:\(jump.port)") \(key)")
            }
            lines += wsproxyCommands.map { "or: \($0)" }
        } else {
            lines += wsproxyCommands.map { "connect: \($0)" }
        }
        lines.append("or: \(tcptowsCommand)")
        return lines
    }
}
