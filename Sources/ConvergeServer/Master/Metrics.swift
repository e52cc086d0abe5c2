/// Counters behind `GET /metrics`, rendered in the Prometheus text format.
public struct Metrics: Sendable {
    public var agentsWaiting = 0
    public var agentIDs = 0
    public var sessionsActive = 0
    public var sessionsTotal = 0
    /// Sessions started, by how the person came (`ws`, `ssh`).
    public var sessionsByPath: [String: Int] = [:]
    public var jumpConnections = 0
    public var jumpConnectionsTotal = 0
    public var bytesClientToAgent: UInt64 = 0
    public var bytesAgentToClient: UInt64 = 0
    /// Refused connections by reason, labelled with the limit's name.
    public private(set) var refused: [Limit: UInt64] = [:]
    /// The server's build, as `converge_build_info{version=...,commit=...} 1`.
    public var version = "0.0.0-dev"
    public var commit = "unknown"

    public init() {}

    public mutating func refuse(_ limit: Limit) { refused[limit, default: 0] += 1 }

    public var rendered: String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { out += "\(name)\(labels) \(value)\n" }
        }
        metric("converge_agents_waiting", "gauge", "Offered agent connections waiting for a client.", [("", "\(agentsWaiting)")])
        metric("converge_agent_ids", "gauge", "Rendezvous IDs currently registered.", [("", "\(agentIDs)")])
        metric("converge_sessions_active", "gauge", "Client sessions being relayed now.", [("", "\(sessionsActive)")])
        metric("converge_sessions_total", "counter", "Client sessions started.", [("", "\(sessionsTotal)")])
        metric("converge_sessions_by_path_total", "counter", "Client sessions started, by path: ws (wsproxy, tcptows) or ssh (ssh -J).",
               ["ws", "ssh"].map { ("{path=\"\($0)\"}", "\(sessionsByPath[$0, default: 0])") })
        metric("converge_jump_connections", "gauge", "SSH connections to the jump host now (one process each).", [("", "\(jumpConnections)")])
        metric("converge_jump_connections_total", "counter", "SSH connections the jump host accepted.", [("", "\(jumpConnectionsTotal)")])
        metric("converge_bytes_relayed_total", "counter", "Payload bytes relayed between clients and agents.",
               [("{direction=\"client_to_agent\"}", "\(bytesClientToAgent)"), ("{direction=\"agent_to_client\"}", "\(bytesAgentToClient)")])
        metric("converge_connections_refused_total", "counter", "Connections refused, by reason.",
               refused.keys.sorted { $0.rawValue < $1.rawValue }.map { ("{reason=\"\($0)\"}", "\(refused[$0]!)") })
        metric("converge_build_info", "gauge", "The server's version and git commit, in its labels.",
               [("{version=\"\(Self.label(version))\",commit=\"\(Self.label(commit))\"}", "1")])
        return out
    }

    /// A label value in the text format: backslash, quote and newline escaped.
    static func label(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
