import ConvergeWire

/// What the agent prints once it is reachable: everything a person needs to connect,
/// copied straight from the CI log.
struct AgentBanner {
    let id: String
    let server: ServerURL
    let hostKey: SSHHostKey
    let serverUser: String?
    let keyCount: Int
    let hasAgentPassword: Bool

    var hostAlias: String { "converge-\(id)" }

    var lines: [String] {
        let base = server.with(path: AgentRegistration.basePath(of: server)).description
        let client = "\(base)/client/\(id)"
        let user = serverUser ?? "USER"
        let options = "-oServerAliveInterval=10 -oHostKeyAlias=\(hostAlias) -oProxyCommand=\"wsproxy \(client)\""
        var logins: [String] = []
        if let serverUser { logins.append("user \(LogText.escaped(serverUser)) with the server's password") }
        if keyCount > 0 { logins.append("\(keyCount) authorized key\(keyCount == 1 ? "" : "s")") }
        if hasAgentPassword { logins.append("the password in CONVERGE_PASSWORD") }
        return [
            "agent ready: ID \(id) is registered at \(base)",
            "host key: \(hostKey.fingerprint)",
            "known_hosts: \(hostKey.knownHostsLine(hosts: hostAlias))",
            "log in with: \(logins.joined(separator: ", "))",
            "connect: ssh \(options) \(user)@localhost",
            "connect: sftp \(options) \(user)@localhost",
            "or: tcptows \(client) (then ssh -p 10000 \(user)@localhost)",
        ]
    }
}
