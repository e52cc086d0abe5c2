/// Which agents are reachable under which ID, and which clients wait for them.
///
/// Pure bookkeeping over opaque connection numbers, so the pairing rules of
/// docs/protocol.md are unit-tested without sockets. Times are monotonic seconds.
public struct Registry: Sendable {
    public typealias Connection = Int

    public struct Limits: Sendable {
        /// How long a client may wait for the agent's next offered connection.
        public var clientWait: Double = 10
        /// How long an ID stays claimed after its last pairing, while the agent re-offers.
        public var reofferGrace: Double = 15
        /// Offered connections in total, over all IDs.
        public var maxOffers: Int = 20_000
        /// Offered connections one agent may keep at once.
        public var maxOffersPerID: Int = 4
        public init() {}
    }

    public enum OfferOutcome: Equatable, Sendable {
        /// Kept as this ID's idle connection.
        case offered
        /// A client was already waiting: pair them now.
        case paired(client: Connection)
        /// The ID belongs to an agent with another key (409).
        case conflict
        /// Too many offered connections (503); `perID` says which limit.
        case full(perID: Bool)
    }

    public enum ClientOutcome: Equatable, Sendable {
        case paired(agent: Connection)
        /// The agent is re-offering; wait (at most `clientWait`).
        case waiting
        /// Nobody registered under this ID (404).
        case unknown
    }

    private struct Record {
        var key: String
        var offers: [Connection] = []
        var waiting: [(client: Connection, deadline: Double)] = []
        var lastPaired: Double? = nil
    }

    public let limits: Limits
    private var records: [String: Record] = [:]
    public private(set) var offerCount = 0
    /// IDs forgotten since the last `takeForgotten` (the operator's view drops them).
    private var forgotten: [String] = []

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Number of IDs currently claimed.
    public var idCount: Int { records.count }

    public func isRegistered(_ id: String) -> Bool { records[id] != nil }

    /// Clients waiting for this ID's next offered connection.
    public func waitingCount(_ id: String) -> Int { records[id]?.waiting.count ?? 0 }

    public mutating func offer(id: String, key: String, connection: Connection, now: Double) -> OfferOutcome {
        var record = records[id] ?? Record(key: key)
        guard record.key == key else { return .conflict }
        if !record.waiting.isEmpty {
            let client = record.waiting.removeFirst().client
            record.lastPaired = now
            records[id] = record
            return .paired(client: client)
        }
        guard offerCount < limits.maxOffers else { return .full(perID: false) }
        guard record.offers.count < limits.maxOffersPerID else { return .full(perID: true) }
        record.offers.append(connection)
        records[id] = record
        offerCount += 1
        return .offered
    }

    public mutating func connectClient(id: String, connection: Connection, now: Double) -> ClientOutcome {
        guard var record = records[id] else { return .unknown }
        defer { records[id] = record }
        if !record.offers.isEmpty {
            offerCount -= 1
            record.lastPaired = now
            return .paired(agent: record.offers.removeFirst())
        }
        record.waiting.append((connection, now + limits.clientWait))
        return .waiting
    }

    /// An offered connection closed or died before it was paired.
    public mutating func withdrawOffer(id: String, connection: Connection, now: Double) {
        guard var record = records[id], let index = record.offers.firstIndex(of: connection) else { return }
        record.offers.remove(at: index)
        offerCount -= 1
        records[id] = record
        forgetIfIdle(id, now: now)
    }

    /// A waiting client went away.
    public mutating func withdrawClient(id: String, connection: Connection, now: Double) {
        guard var record = records[id] else { return }
        record.waiting.removeAll { $0.client == connection }
        records[id] = record
        forgetIfIdle(id, now: now)
    }

    /// Clients whose wait is over (to be answered 503) and forgets IDs whose grace ran out.
    public mutating func expire(now: Double) -> [Connection] {
        var expired: [Connection] = []
        for id in Array(records.keys) {
            guard var record = records[id] else { continue }
            let (late, onTime) = (record.waiting.filter { $0.deadline <= now }, record.waiting.filter { $0.deadline > now })
            expired += late.map(\.client)
            record.waiting = onTime
            records[id] = record
            forgetIfIdle(id, now: now)
        }
        return expired
    }

    private mutating func forgetIfIdle(_ id: String, now: Double) {
        guard let record = records[id], record.offers.isEmpty, record.waiting.isEmpty else { return }
        if let paired = record.lastPaired, now - paired < limits.reofferGrace { return }
        records[id] = nil
        forgotten.append(id)
    }

    /// The IDs forgotten since the last call.
    public mutating func takeForgotten() -> [String] {
        defer { forgotten.removeAll() }
        return forgotten
    }
}
