/// Which end of a two-ended pump: the first or the second given to it. Shared by the
/// client's `Relay` and the server's `SpliceTunnel`, so it lives below both.
public enum RelaySide: Sendable, Equatable, CustomStringConvertible {
    case a, b

    public var other: RelaySide { self == .a ? .b : .a }
    public var description: String { self == .a ? "a" : "b" }
}
