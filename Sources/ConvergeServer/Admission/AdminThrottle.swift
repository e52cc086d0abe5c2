/// Wrong credentials for the operator's view, per client address: after a few, that
/// address is refused (429) without a check for a time that doubles with each further
/// failure, up to a minute, so guessing a token or the password stays slow. The master
/// cannot sleep on one request, so it shuts the door instead. Remembered for 10 minutes.
public struct AdminThrottle: Sendable {
    /// Failures allowed before the door shuts.
    public static let freeFailures = 3
    public static let longestLockout = 60.0
    let memory: Double
    /// Bounds the table when failures come from very many addresses.
    let maxAddresses: Int
    private var failures: [String: (count: Int, last: Double)] = [:]

    public init(memory: Double = 600, maxAddresses: Int = 4096) {
        self.memory = memory
        self.maxAddresses = maxAddresses
    }

    /// Seconds `address` must still wait before its credentials are checked again (0: none).
    public func lockout(_ address: String, now: Double) -> Double {
        guard let entry = failures[address], now - entry.last < memory, entry.count >= AdminThrottle.freeFailures else { return 0 }
        let length = min(AdminThrottle.longestLockout, Double(1 << min(entry.count - AdminThrottle.freeFailures, 6)))
        return max(0, entry.last + length - now)
    }

    public mutating func failed(_ address: String, now: Double) {
        let previous = failures[address].flatMap { now - $0.last < memory ? $0.count : nil } ?? 0
        failures[address] = (previous + 1, now)
        guard failures.count > maxAddresses else { return }
        failures = failures.filter { now - $0.value.last < memory }
        while failures.count > maxAddresses, let oldest = failures.min(by: { $0.value.last < $1.value.last })?.key {
            failures[oldest] = nil
        }
    }

    public mutating func succeeded(_ address: String) { failures[address] = nil }
}
