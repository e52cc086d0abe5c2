/// Per-connection limits on failed logins: a named maximum (like OpenSSH's MaxAuthTries)
/// and a delay that grows with each failure that could be a guess (passwords, bad
/// signatures). A rejected key offer counts towards the maximum but is not delayed:
/// clients offer every key they hold, and a key cannot be guessed.
public struct AuthThrottle: Sendable {
    public static let defaultMaxFailures = 6

    public let maxFailures: Int
    public let delayStep: Double
    public let maxDelay: Double
    public private(set) var failures = 0
    private var guesses = 0

    public init(maxFailures: Int = AuthThrottle.defaultMaxFailures, delayStep: Double = 1.0, maxDelay: Double = 4.0) {
        self.maxFailures = maxFailures
        self.delayStep = delayStep
        self.maxDelay = maxDelay
    }

    /// Records a failure; returns the delay in seconds to wait before answering.
    public mutating func recordFailure(isGuess: Bool) -> Double {
        failures += 1
        guard isGuess else { return 0 }
        guesses += 1
        return min(Double(guesses) * delayStep, maxDelay)
    }

    public var isExhausted: Bool { failures >= maxFailures }
}
