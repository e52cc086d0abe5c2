import ConvergeWire

/// What the operator's view shows, kept by the master as things happen: every registered
/// agent ID with what it said about itself, and every session being relayed, with its
/// bytes. Each event costs O(1) (dictionary updates); only rendering walks it all.
/// Times are Unix seconds (shown to people), not the master's monotonic clock.
public struct SessionsView: Sendable {
    public struct Agent: Sendable {
        public let id: String
        public let registered: Double
        public var facts: AgentFacts
        /// People logged in, as the agent last said (its `state` line).
        public var loggedIn = 0
        public var expires: Double? = nil
        /// The sessions relayed for this ID now, by number.
        public var sessions: Set<Int> = []
        /// The registry forgot the ID while sessions still ran: gone with the last one.
        var left = false
    }

    public struct Session: Sendable {
        public let number: Int
        public let id: String
        /// `host:port`, or the address a trusted proxy forwarded.
        public let client: String
        /// `ws` (wsproxy, tcptows) or `ssh` (the jump host).
        public let path: String
        public let started: Double
        public var clientToAgent: UInt64 = 0
        public var agentToClient: UInt64 = 0
    }

    public private(set) var agents: [String: Agent] = [:]
    public private(set) var sessions: [Int: Session] = [:]
    /// Bumped by every change, so a live page is sent an update only when there is one.
    public private(set) var version = 0

    public init() {}

    /// An agent offered a connection: a new row, or new facts for its row (an agent
    /// that sends none keeps what it sent before).
    public mutating func offered(id: String, facts: AgentFacts, now: Double) {
        if var agent = agents[id] {
            agent.left = false
            if facts != AgentFacts() && facts != agent.facts { agent.facts = facts }
            agents[id] = agent
        } else {
            agents[id] = Agent(id: id, registered: now, facts: facts)
        }
        version += 1
    }

    /// The registry forgot the ID (no offered connection, no recent pairing).
    public mutating func left(id: String) {
        guard var agent = agents[id] else { return }
        if agent.sessions.isEmpty {
            agents[id] = nil
        } else {
            agent.left = true
            agents[id] = agent
        }
        version += 1
    }

    public mutating func state(id: String, _ line: AgentStateLine) {
        guard var agent = agents[id] else { return }
        agent.loggedIn = line.loggedIn
        agent.expires = line.expires
        agents[id] = agent
        version += 1
    }

    public mutating func started(number: Int, id: String, client: String, path: String, now: Double) {
        sessions[number] = Session(number: number, id: id, client: client, path: path, started: now)
        var agent = agents[id] ?? Agent(id: id, registered: now, facts: AgentFacts())
        agent.sessions.insert(number)
        agents[id] = agent
        version += 1
    }

    /// A worker's report: the session's totals so far.
    public mutating func bytes(number: Int, clientToAgent: UInt64, agentToClient: UInt64) {
        guard var session = sessions[number] else { return }
        session.clientToAgent = clientToAgent
        session.agentToClient = agentToClient
        sessions[number] = session
        version += 1
    }

    public mutating func ended(number: Int) {
        guard let session = sessions.removeValue(forKey: number) else { return }
        if var agent = agents[session.id] {
            agent.sessions.remove(number)
            agents[session.id] = agent.left && agent.sessions.isEmpty ? nil : agent
        }
        version += 1
    }

    /// Agents in the order they registered (then by ID), each with its sessions by start.
    public var rows: [(agent: Agent, sessions: [Session])] {
        agents.values.sorted { ($0.registered, $0.id) < ($1.registered, $1.id) }.map { agent in
            (agent: agent, sessions: agent.sessions.isEmpty ? [] : agent.sessions.compactMap { sessions[$0] }.sorted { ($0.started, $0.number) < ($1.started, $1.number) })
        }
    }
}
