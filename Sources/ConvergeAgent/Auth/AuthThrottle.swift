/// Per-connection limits on failed logins: a named maximum (`max_auth_tries`, OpenSSH's
/// MaxAuthTries) and a delay that grows with each failure that could be a guess
/// (passwords, bad signatures). A rejected key offer counts towards the maximum but is
/// not delayed: clients offer every key they hold, and a key cannot be guessed.
///
/// The delay also counts `priorGuesses`, the recent failed guesses from the same client
/// address (`SourcePenalties`): a guesser gains nothing by opening a new connection.
public struct AuthThrottle: Sendable {
    public static let defaultMaxFailures = 6

    public let maxFailures: Int
    public let delayStep: Double
    public let maxDelay: Double
    public let priorGuesses: Int
    public private(set) var failures = 0
    private var guesses = 0

    public init(maxFailures: Int = AuthThrottle.defaultMaxFailures, delayStep: Double = 1.0, maxDelay: Double = 8.0, priorGuesses: Int = 0) {
        self.maxFailures = maxFailures
        self.delayStep = delayStep
        self.maxDelay = maxDelay
        self.priorGuesses = priorGuesses
    }

    /// Records a failure; returns the delay in seconds to wait before answering.
    public mutating func recordFailure(isGuess: Bool) -> Double {
        failures += 1
        guard isGuess else { return 0 }
        guesses += 1
        return min(Double(priorGuesses + guesses) * delayStep, maxDelay)
    }

    public var isExhausted: Bool { failures >= maxFailures }
}
