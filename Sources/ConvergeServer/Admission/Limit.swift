/// Every reason the server refuses or drops a connection, by one name: the name a refusal
/// shows as `(limit: NAME)`, that the log line carries, and that /metrics counts under
/// (`converge_connections_refused_total{reason="NAME"}`). Most are limits set by a flag
/// (`--max-sessions` is `max_sessions`); the rest name what was wrong with the request.
public enum Limit: String, Sendable, CaseIterable, CustomStringConvertible {
    // Limits set by flags.
    case maxHeadBytes = "max_head_bytes"
    case headTimeout = "head_timeout"
    case maxConnectionsPerAddress = "max_connections_per_address"
    case maxSessions = "max_sessions"
    case maxSessionsPerID = "max_sessions_per_id"
    case maxWaitingAgents = "max_waiting_agents"
    case maxOffersPerID = "max_offers_per_id"
    case deadPeerTimeout = "dead_peer_timeout"
    case agentToken = "agent_token"
    /// Wrong credentials for the operator's view (`/sessions`), and their throttle.
    case adminAuth = "admin_auth"
    /// The client waited `--client-wait` for its agent's next connection.
    case agentBusy = "agent_busy"
    /// The process's own limit (`ulimit -n`).
    case outOfDescriptors = "out_of_descriptors"
    // The SSH jump host's (`--ssh-listen`): at accept, and reported by its processes.
    case maxJumpStartupsPerAddress = "max_jump_startups_per_address"
    case jumpLoginGraceTime = "jump_login_grace_time"
    case maxJumpChannels = "max_jump_channels"

    // Requests refused for what they are.
    case badRequest = "bad_request"
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case badForwardedFor = "bad_forwarded_for"
    case badUpgrade = "bad_upgrade"
    case badAgentKey = "bad_agent_key"
    case idInUse = "id_in_use"
    case noSuchAgent = "no_such_agent"
    /// An offered agent connection sent a frame it may not (or a broken one).
    case badFrame = "bad_frame"
    /// Garbage instead of SSH, or a failed key exchange, on the jump port.
    case badSSHHandshake = "bad_ssh_handshake"

    public var description: String { rawValue }

    /// How a refusal names it: `(limit: NAME)`, or `(limit: NAME VALUE)` with the value in force.
    public func tag(_ value: Int? = nil) -> String {
        "(limit: \(rawValue)\(value.map { " \($0)" } ?? ""))"
    }
}
