/// What a jump process tells the master over its control socket (SOCK_SEQPACKET: one
/// message per datagram, a short text line).
public enum JumpReport: Equatable, Sendable {
    /// The client finished the key exchange and logged in (`ready`): it no longer counts
    /// against max_jump_startups_per_address.
    case loggedIn
    /// Asks for a client leg into the master's pairing (`open`): the master answers with
    /// one end of a new socket pair (SCM_RIGHTS, payload `ok`) or `error TEXT`.
    case openClientLeg
    /// A named limit refused something in the jump process (`refused LIMIT`), counted in
    /// /metrics like the master's own refusals.
    case refused(limit: String)

    public var line: String {
        switch self {
        case .loggedIn: return "ready"
        case .openClientLeg: return "open"
        case .refused(let limit): return "refused \(limit)"
        }
    }

    public init?(line: String) {
        switch line {
        case "ready": self = .loggedIn
        case "open": self = .openClientLeg
        default:
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0] == "refused", parts[1].utf8.count <= 64,
                  parts[1].utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }) else { return nil }
            self = .refused(limit: String(parts[1]))
        }
    }
}
