import ConvergeWire

/// When another agent holds the ID asked for (the server answers 409 to the first
/// registration), this agent takes a fresh ID derived from it instead of failing the job:
/// a re-run of a CI job reuses its `--id`, and the first run's agent may still be waiting.
struct IDClash {
    /// The ID the agent was started with.
    let wanted: String
    /// Fresh IDs tried so far; past `maxTries` the clash is a failure after all.
    private(set) var tries = 0
    static let maxTries = 5

    init(wanted: String) { self.wanted = wanted }

    /// The next ID to try, `WANTED-3f9a` (shortened to stay a valid ID of at most 64
    /// characters), or nil when too many were taken too.
    mutating func freshID(randomBytes: (Int) -> [UInt8]) -> String? {
        guard tries < IDClash.maxTries else { return nil }
        tries += 1
        return IDClash.derive(from: wanted, suffix: IDClash.suffix(randomBytes(2)))
    }

    static func derive(from id: String, suffix: String) -> String {
        String(id.prefix(RendezvousID.maxLength - suffix.count - 1)) + "-" + suffix
    }

    /// Two bytes as four lowercase hex digits.
    static func suffix(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.prefix(2).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    /// The one line that must not be missed in the job's log.
    static func notice(wanted: String, taken id: String) -> String {
        "*** ID \(wanted) is held by another agent: this agent registers as \(id) instead; connect to \(id) ***"
    }
}
