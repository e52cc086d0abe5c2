/// Failed login guesses per client address, kept by the agent's main process across
/// connections (each connection is its own process and forgets). A new connection
/// starts its `AuthThrottle` with its address's count, so its first wrong password is
/// already answered slowly. A source is forgotten `memory` seconds after its last guess.
struct SourcePenalties {
    let memory: Double
    /// Bounds the table when guesses come from very many addresses.
    let maxSources: Int
    private var sources: [String: (guesses: Int, last: Double)] = [:]

    init(memory: Double = 600, maxSources: Int = 4096) {
        self.memory = memory
        self.maxSources = maxSources
    }

    var count: Int { sources.count }

    func guesses(from source: String, now: Double) -> Int {
        guard let entry = sources[source], now - entry.last < memory else { return 0 }
        return entry.guesses
    }

    mutating func recordGuess(from source: String, now: Double) {
        sources[source] = (guesses(from: source, now: now) + 1, now)
        guard sources.count > maxSources else { return }
        sources = sources.filter { now - $0.value.last < memory }
        while sources.count > maxSources, let oldest = sources.min(by: { $0.value.last < $1.value.last })?.key {
            sources[oldest] = nil
        }
    }

    /// The address part of a `session client=` value: `192.0.2.7:4711`, `[2001:db8::1]:4711`,
    /// or an address without a port (what the server sends for a client behind its proxy).
    static func address(of client: String) -> String {
        if client.hasPrefix("["), let close = client.firstIndex(of: "]") {
            return String(client[client.index(after: client.startIndex)..<close])
        }
        let colons = client.filter { $0 == ":" }.count
        if colons == 1, let colon = client.firstIndex(of: ":") { return String(client[..<colon]) }
        return client
    }
}
