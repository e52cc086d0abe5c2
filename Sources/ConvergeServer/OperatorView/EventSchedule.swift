/// What an open page's event stream gets next, decided from its own state alone (pure,
/// so the pacing is unit-tested): the new state when something changed, at most once a
/// second; a keepalive comment after `keepaliveInterval` seconds of quiet, so that proxies keep
/// the connection; otherwise nothing. A page still reading its last write gets nothing.
public enum EventSchedule: Equatable, Sendable {
    case update
    case keepalive
    case nothing

    public static let minimumInterval = 1.0
    public static let keepaliveInterval = 15.0

    /// `seen` is the version the page was last sent, `current` the view's now.
    public static func next(seen: Int, current: Int, lastWrite: Double, now: Double, writing: Bool) -> EventSchedule {
        guard !writing, now - lastWrite >= minimumInterval else { return .nothing }
        if seen != current { return .update }
        return now - lastWrite >= keepaliveInterval ? .keepalive : .nothing
    }
}
