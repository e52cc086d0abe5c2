/// Sessions being relayed now, per rendezvous ID: what `max_sessions_per_id` counts, so
/// that one ID (one agent, or someone hammering it) cannot take every session slot.
public struct SessionsPerID: Sendable, Equatable {
    private var counts: [String: Int] = [:]

    public init() {}

    public func count(_ id: String) -> Int { counts[id, default: 0] }

    public mutating func started(_ id: String) { counts[id, default: 0] += 1 }

    /// Forgets an ID whose last session ended (the table holds only IDs in use).
    public mutating func ended(_ id: String) {
        guard let n = counts[id] else { return }
        counts[id] = n > 1 ? n - 1 : nil
    }

    /// IDs with at least one session.
    public var idCount: Int { counts.count }

    /// Whether one more client may be admitted for `id`, counting the sessions running
    /// and the clients already admitted that wait for the agent's next connection
    /// (each of them becomes a session).
    public func admits(_ id: String, waiting: Int, limit: Int) -> Bool {
        count(id) + waiting < limit
    }
}
