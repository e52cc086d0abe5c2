/// Connections from each client address (no port) being read, answered or waiting: what
/// `max_connections_per_address` counts, so that one address cannot take every slot.
struct ConnectionsPerAddress {
    private var counts: [String: Int] = [:]

    func count(_ address: String) -> Int { counts[address, default: 0] }

    /// Whether one more connection from `address` may be served.
    func admits(_ address: String, limit: Int) -> Bool { count(address) < limit }

    mutating func opened(_ address: String) { counts[address, default: 0] += 1 }

    /// Forgets an address whose last connection closed (the table holds only addresses in use).
    mutating func closed(_ address: String) {
        guard let n = counts[address] else { return }
        counts[address] = n > 1 ? n - 1 : nil
    }

    /// Addresses with at least one connection.
    var addressCount: Int { counts.count }
}
