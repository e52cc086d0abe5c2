import ConvergeNet
import ConvergeWire

/// When the agent ends, as a pure value: events and the time go in, decisions come out.
/// All times are wall-clock epoch seconds (`.hold`'s mtime and the expiry shown to people
/// are wall-clock too). The agent's main loop feeds it and acts on what `tick` says.
///
/// Rules (also in `agent --help` and the README):
/// - Waiting: nobody has logged in within `waitTimeout` of the start → end (connections
///   that never authenticate do not count).
/// - Expiry: from the first login, `max(first login, .hold's mtime, last activity) +
///   holdPeriod`; touching `.hold` again pushes it, and so does anything a person sends
///   (keystrokes, sftp requests, forwarded bytes; not output they receive). At expiry → end.
/// - Default: once the first client to log in has logged out, end as soon as nobody is
///   logged in, unless `.hold` exists (then only expiry ends it). Removing `.hold`
///   restores the default at once.
/// - Warnings: when the expiry comes within each of `warnBefore` (seconds).
public struct Lifecycle: Equatable {
    public struct Settings: Equatable {
        public var waitTimeout: Double
        public var holdPeriod: Double
        /// Seconds before expiry at which shells are warned (any order).
        public var warnBefore: [Double]

        public init(waitTimeout: Double, holdPeriod: Double, warnBefore: [Double]) {
            self.waitTimeout = waitTimeout
            self.holdPeriod = holdPeriod
            self.warnBefore = warnBefore.sorted(by: >)
        }
    }

    public enum EndReason: Equatable, CustomStringConvertible {
        case nobodyLoggedIn(timeout: Double)
        case firstClientLeft
        case holdRemoved
        case expired(at: Double)

        public var description: String {
            switch self {
            case .nobodyLoggedIn(let timeout): return "nobody logged in within \(DurationText.of(timeout))"
            case .firstClientLeft: return "the first client logged out and nobody else is logged in"
            case .holdRemoved: return ".hold is gone and nobody is logged in"
            case .expired(let at): return "the session expired at \(Lifecycle.utc(at))"
            }
        }
    }

    /// What one tick decided: a warning to give (seconds left until `expiry`), an end.
    public struct Step: Equatable {
        public var warning: Double? = nil
        public var end: EndReason? = nil
    }

    public let settings: Settings
    /// The start of the wait for a first login (the agent's start, or `agent --wait`).
    public private(set) var started: Double
    public private(set) var firstLogin: Double?
    public private(set) var firstClient: Int?
    public private(set) var firstClientLeft = false
    public private(set) var loggedIn: Set<Int> = []
    /// `.hold`'s mtime while it exists.
    public private(set) var holdMtime: Double?
    /// The latest time a logged-in person sent something, as their session reported it.
    public private(set) var lastActivity: Double?
    public private(set) var holdSeen = false
    private var lastTick: Double

    public init(settings: Settings, started: Double) {
        self.settings = settings
        self.started = started
        lastTick = started
    }

    /// The expiry rule, shared with session processes that show it before the main
    /// process has told them.
    public static func expiry(firstLogin: Double, holdMtime: Double?, lastActivity: Double? = nil, holdPeriod: Double) -> Double {
        max(firstLogin, holdMtime ?? firstLogin, lastActivity ?? firstLogin) + holdPeriod
    }

    /// Nil until somebody has logged in.
    public var expiry: Double? {
        firstLogin.map { Lifecycle.expiry(firstLogin: $0, holdMtime: holdMtime, lastActivity: lastActivity, holdPeriod: settings.holdPeriod) }
    }

    public var holding: Bool { holdMtime != nil }

    // MARK: events

    /// A client (identified by its session) authenticated.
    public mutating func loggedIn(_ client: Int, now: Double) {
        if firstLogin == nil {
            firstLogin = now
            firstClient = client
        }
        loggedIn.insert(client)
    }

    /// A client logged out (or its session ended); harmless if it never logged in.
    public mutating func loggedOut(_ client: Int) {
        guard loggedIn.remove(client) != nil else { return }
        if client == firstClient { firstClientLeft = true }
    }

    /// A logged-in person sent something at `time` (reported at most about once a second).
    public mutating func activity(at time: Double) {
        guard firstLogin != nil else { return }
        lastActivity = max(lastActivity ?? time, time)
    }

    public enum HoldChange: Equatable { case none, appeared, touched, removed }

    /// `.hold`'s mtime as just seen (nil: it does not exist).
    public mutating func hold(mtime: Double?) -> HoldChange {
        defer { holdMtime = mtime }
        switch (holdMtime, mtime) {
        case (nil, nil): return .none
        case (nil, .some):
            holdSeen = true
            return .appeared
        case (.some, nil): return .removed
        case (.some(let old), .some(let new)): return old == new ? .none : .touched
        }
    }

    /// `agent --wait` (SIGUSR1): if nobody has logged in yet, the wait starts again now,
    /// so whoever sees a failure at the end of the job still gets the whole waiting time.
    /// Returns false (and changes nothing) once somebody has logged in.
    public mutating func restartWaiting(now: Double) -> Bool {
        guard firstLogin == nil else { return false }
        started = max(started, now)
        return true
    }

    // MARK: decisions

    public mutating func tick(now: Double) -> Step {
        defer { lastTick = max(lastTick, now) }
        var step = Step()
        guard let expiry else {
            if now - started >= settings.waitTimeout { step.end = .nobodyLoggedIn(timeout: settings.waitTimeout) }
            return step
        }
        if now >= expiry {
            step.end = .expired(at: expiry)
            return step
        }
        if firstClientLeft && loggedIn.isEmpty && !holding {
            step.end = holdSeen ? .holdRemoved : .firstClientLeft
            return step
        }
        // A warning threshold crossed since the last tick (the most urgent one only).
        for before in settings.warnBefore where lastTick < expiry - before && expiry - before <= now {
            step.warning = expiry - now
        }
        return step
    }

    // MARK: text

    /// `2026-11-25 03:04:05 UTC`.
    public static func utc(_ epoch: Double) -> String {
        let iso = Clock.isoTimestamp(epoch)
        return iso.replacingOccurrences("T", " ").replacingOccurrences("Z", " UTC")
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}

/// What people in shells read about the lifecycle: at login, before expiry, at the end.
public struct LifecycleNotices: Equatable {
    public var id: String
    /// Absolute path of `.hold`.
    public var holdPath: String
    public var holdPeriod: Double
    /// The agent's main process (to end everything now).
    public var agentPID: Int32

    var touchCommand: String { "touch \(HoldFile.shellQuoted(holdPath))" }

    /// Shown on every shell (not commands) at its start.
    public func greeting(user: String, expiry: Double, now: Double, holding: Bool) -> String {
        let keep = holding
            ? "converge: .hold exists, so the agent keeps running after everyone logs out, until it expires.\n"
            : "converge: the agent exits once the first person to log in has logged out and nobody else is logged in.\n"
        return "converge: agent \(id): logged in as \(user).\n"
            + "converge: this session expires at \(Lifecycle.utc(expiry)) (in \(DurationText.of(expiry - now))); anything you type,\n"
            + "converge:   send by sftp or forward moves it to \(DurationText.of(holdPeriod)) after that (output you only receive does not).\n"
            + keep
            + "converge: to keep it after you log out and move the expiry to \(DurationText.of(holdPeriod)) from now: \(touchCommand)\n"
            + "converge:   (touch it again to extend; rm .hold restores the default)\n"
            + "converge: to end the session now for everyone: kill \(agentPID)\n"
    }

    public func warning(expiry: Double, left: Double) -> String {
        "\nconverge: this session expires at \(Lifecycle.utc(expiry)) (in \(DurationText.of(left))). "
            + "Any activity (typing, sftp, forwarded bytes) extends it to \(DurationText.of(holdPeriod)) after that; "
            + "to extend it by \(DurationText.of(holdPeriod)) and keep it after you log out: \(touchCommand)\n"
    }

    public func closing(_ why: String) -> String {
        "\nconverge: \(why); closing this session.\n"
    }
}
