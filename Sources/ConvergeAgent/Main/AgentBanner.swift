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
    /// The server's jump host, if it has one: `ssh -J` comes first then.
    let jump: AgentRegistration.JumpHost?

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
        var lines = [
            "agent ready: ID \(id) is registered at \(base)",
            "host key: \(hostKey.fingerprint)",
            "known_hosts: \(hostKey.knownHostsLine(hosts: hostAlias))",
            "log in with: \(logins.joined(separator: ", "))",
        ]
        if let jump {
            // With -J the destination is the ID; the alias lets one known_hosts line serve both ways in.
            let target = jump.port == 22 ? server.host : "\(server.host):\(jump.port)"
            let alias = "-oHostKeyAlias=\(hostAlias)"
            lines += [
                "connect: ssh -J \(target) \(alias) \(user)@\(id)",
                "connect: sftp -J \(target) \(alias) \(user)@\(id)",
            ]
            if let key = jump.publicKeyLine {
                lines.append("jump host known_hosts: \(jump.port == 22 ? server.host : "[\(server.host)]:\(jump.port)") \(key)")
            }
            lines += [
                "or: ssh \(options) \(user)@localhost",
                "or: sftp \(options) \(user)@localhost",
            ]
        } else {
            lines += [
                "connect: ssh \(options) \(user)@localhost",
                "connect: sftp \(options) \(user)@localhost",
            ]
        }
        lines.append("or: tcptows \(client) (then ssh -p 10000 \(user)@localhost)")
        return lines
    }
}
