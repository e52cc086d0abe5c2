import ConvergeWire

/// The options before a key in `authorized_keys`, read as sshd(8) reads them (its
/// "AUTHORIZED_KEYS FILE FORMAT"): comma-separated, names in any case, values in double
/// quotes (`\"` inside is a quote). Pure: text in, value or a one-line error out.
///
/// An option the agent cannot honour is an error, and the caller drops the key: a person
/// who wrote `verify-required` or `cert-authority` expects a check we would not make.
public struct KeyOptions: Equatable, Sendable {
    /// What a key may do in a session; each is allowed unless an option took it away.
    public enum Permission: String, Sendable, CaseIterable {
        case pty, portForwarding = "port-forwarding", agentForwarding = "agent-forwarding"
        case x11Forwarding = "x11-forwarding", userRC = "user-rc"
    }

    /// `from="PATTERNS"`: the client addresses that may use the key.
    public private(set) var from: FromPatterns?
    /// `command="..."`: run instead of whatever the client asked for.
    public private(set) var command: String?
    /// `permitopen="HOST:PORT"` (repeatable): the only `ssh -L` targets; empty means any.
    public private(set) var permitOpen: [PermitOpen] = []
    /// `expiry-time="YYYYMMDD[HHMM[SS]][Z]"`: the earliest one given.
    public private(set) var expiry: ExpiryTime?
    /// `environment="NAME=value"` (repeatable; the first of a name counts), set in the
    /// session's children only when the agent runs with `--permit-user-environment`.
    public private(set) var environment: [EnvironmentEntry] = []
    /// The option that took each permission away (`no-pty`, `restrict`).
    public private(set) var deniedBy: [Permission: String] = [:]

    public struct EnvironmentEntry: Equatable, Sendable {
        public let name: String
        public let value: String
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// No options: everything allowed.
    public init() {}

    public init(parsing text: String) throws(ParseError) {
        var rest = Array(text.utf8)[...]
        while !rest.isEmpty {
            let nameBytes = rest.prefix { $0 != equals && $0 != comma }
            rest = rest.dropFirst(nameBytes.count)
            // ASCII case only, as sshd's strncasecmp: no Unicode folding onto a known name.
            let name = asciiLowercased(nameBytes)
            guard !name.isEmpty else { throw ParseError("an empty option") }
            var value: String? = nil
            if rest.first == equals {
                rest = rest.dropFirst()
                value = try KeyOptions.dequote(&rest, option: name)
            }
            try apply(name, value)
            guard let next = rest.first else { break }
            guard next == comma else {
                throw ParseError("unexpected \"\(LogText.escaped(String(decoding: rest.prefix(20), as: UTF8.self)))\" after option \(KeyOptions.shown(name))")
            }
            rest = rest.dropFirst()
            if rest.isEmpty { throw ParseError("the options end with a comma") }
        }
    }

    public func allows(_ permission: Permission) -> Bool { deniedBy[permission] == nil }

    private static let flags: [String: (Permission, Bool)] = [
        "no-pty": (.pty, false), "pty": (.pty, true),
        "no-port-forwarding": (.portForwarding, false), "port-forwarding": (.portForwarding, true),
        "no-agent-forwarding": (.agentForwarding, false), "agent-forwarding": (.agentForwarding, true),
        "no-x11-forwarding": (.x11Forwarding, false), "x11-forwarding": (.x11Forwarding, true),
        "no-user-rc": (.userRC, false), "user-rc": (.userRC, true),
    ]

    private mutating func apply(_ name: String, _ value: String?) throws(ParseError) {
        if let flag = KeyOptions.flags[name] {
            try KeyOptions.noValue(name, value)
            deniedBy[flag.0] = flag.1 ? nil : name
            return
        }
        switch name {
        case "restrict":
            try KeyOptions.noValue(name, value)
            for permission in Permission.allCases { deniedBy[permission] = name }
        case "no-touch-required":
            // Only relaxes a check on FIDO keys; accepting it never lets more in than the key.
            try KeyOptions.noValue(name, value)
        case "from":
            guard from == nil else { throw ParseError("from= is given twice") }
            from = try FromPatterns(parsing: try KeyOptions.needValue(name, value))
        case "command":
            guard command == nil else { throw ParseError("command= is given twice") }
            command = try KeyOptions.needValue(name, value)
        case "permitopen":
            permitOpen.append(try PermitOpen(parsing: try KeyOptions.needValue(name, value)))
        case "expiry-time":
            let time = try ExpiryTime(parsing: try KeyOptions.needValue(name, value))
            if expiry.map({ time.isEarlier(than: $0) }) ?? true { expiry = time }
        case "environment":
            let text = try KeyOptions.needValue(name, value)
            guard let equal = text.firstIndex(of: "="), equal != text.startIndex,
                  text[..<equal].utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "_") }) else {
                throw ParseError("environment=\"\(LogText.escaped(text, limit: 40))\": expected NAME=value (NAME of A-Z a-z 0-9 _)")
            }
            let entry = EnvironmentEntry(name: String(text[..<equal]), value: String(text[text.index(after: equal)...]))
            guard environment.count < 1024 else { throw ParseError("more than 1024 environment= options") }
            if !environment.contains(where: { $0.name == entry.name }) { environment.append(entry) }
        case "permitlisten", "tunnel":
            // Limits on remote forwarding and tun devices, which the agent never grants.
            _ = try KeyOptions.needValue(name, value)
        case "cert-authority", "principals":
            throw ParseError("\(name) is for certificates, which the agent does not accept")
        case "verify-required":
            throw ParseError("verify-required: the agent cannot check FIDO user verification")
        default:
            throw ParseError("unknown option \(KeyOptions.shown(name))")
        }
    }

    private static func shown(_ name: String) -> String { "\"\(LogText.escaped(name, limit: 40))\"" }

    private static func noValue(_ name: String, _ value: String?) throws(ParseError) {
        if value != nil { throw ParseError("option \(name) takes no value") }
    }

    private static func needValue(_ name: String, _ value: String?) throws(ParseError) -> String {
        guard let value else { throw ParseError("option \(name) needs a value: \(name)=\"...\"") }
        return value
    }

    /// A double-quoted value; `\"` is a quote, any other backslash is itself (as sshd).
    static func dequote(_ rest: inout ArraySlice<UInt8>, option: String) throws(ParseError) -> String {
        guard rest.first == quote else { throw ParseError("the value of \(shown(option)) must be in double quotes") }
        rest = rest.dropFirst()
        var value: [UInt8] = []
        while let c = rest.first, c != quote {
            if c == backslash, rest.dropFirst().first == quote {
                rest = rest.dropFirst()
            }
            value.append(rest.first!)
            rest = rest.dropFirst()
        }
        guard rest.first == quote else { throw ParseError("the value of \(shown(option)) has no closing quote") }
        rest = rest.dropFirst()
        return String(decoding: value, as: UTF8.self)
    }
}

/// `from="…"`: a comma-separated list of address patterns, as sshd matches them with its
/// default `UseDNS no` (the host name is the address): an address or `ADDRESS/PREFIX`,
/// or a wildcard pattern (`*`, `?`) matched against the address's text; `!` before one
/// refuses what it matches, whatever else matches. No host name is ever looked up.
public struct FromPatterns: Equatable, Sendable, CustomStringConvertible {
    enum Kind: Equatable, Sendable {
        case network(IPNetwork)
        case wildcard(String)
    }
    struct Entry: Equatable, Sendable {
        let negated: Bool
        let kind: Kind
    }
    let entries: [Entry]
    public let description: String

    init(parsing text: String) throws(KeyOptions.ParseError) {
        var entries: [Entry] = []
        // Bytes, not Characters: a comma or `!` followed by a combining mark is still one.
        for raw in text.utf8.split(separator: comma, omittingEmptySubsequences: false) {
            let trimmed = Array(Substring(decoding: raw, as: UTF8.self).trimmingSpaces().utf8)
            let negated = trimmed.first == UInt8(ascii: "!")
            let bytes = negated ? trimmed.dropFirst() : trimmed[...]
            guard !bytes.isEmpty else { throw KeyOptions.ParseError("from=\"\(LogText.escaped(text, limit: 80))\" has an empty pattern") }
            if bytes.contains(UInt8(ascii: "*")) || bytes.contains(UInt8(ascii: "?")) {
                entries.append(Entry(negated: negated, kind: .wildcard(asciiLowercased(bytes))))
                continue
            }
            let pattern = String(decoding: bytes, as: UTF8.self)
            do {
                entries.append(Entry(negated: negated, kind: .network(try IPNetwork(parsing: pattern))))
            } catch {
                throw KeyOptions.ParseError("from=: \(LogText.escaped(error.description, limit: 120)) (host names are not looked up)")
            }
        }
        self.entries = entries
        description = text
    }

    /// The client address as the agent knows it (`session client=`: `ADDR:PORT`,
    /// `[V6]:PORT` or `ADDR`); "unknown" or anything unparsable matches no network.
    public func allows(client: String) -> Bool {
        let text = SourcePenalties.address(of: client)
        let address = IPAddress(parsing: text)
        let shown = address?.description ?? asciiLowercased(Array(text.utf8)[...])
        var positive = false
        for entry in entries {
            let hit: Bool
            switch entry.kind {
            case .network(let network): hit = address.map(network.contains) ?? false
            case .wildcard(let pattern): hit = Wildcard.matches(Array(pattern.utf8)[...], Array(shown.utf8)[...])
            }
            guard hit else { continue }
            if entry.negated { return false }
            positive = true
        }
        return positive
    }
}

/// sshd's `match_pattern`: `*` any run of bytes, `?` any one byte.
enum Wildcard {
    static func matches(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        // Iterative, with one backtrack point: linear in practice, no recursion to blow up.
        var p = pattern.startIndex, t = text.startIndex
        var star: (p: Int, t: Int)? = nil
        while t < text.endIndex {
            if p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") {
                star = (p, t)
                p += 1
            } else if p < pattern.endIndex, pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t] {
                p += 1; t += 1
            } else if let s = star {
                p = s.p + 1
                t = s.t + 1
                star = (s.p, s.t + 1)
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }
}

/// `permitopen="HOST:PORT"`: HOST literal (or `[IPv6]`, or `*`), PORT a number or `*`.
public struct PermitOpen: Equatable, Sendable, CustomStringConvertible {
    public let host: String
    /// nil: any port.
    public let port: Int?

    init(parsing text: String) throws(KeyOptions.ParseError) {
        let bad = KeyOptions.ParseError("permitopen=\"\(LogText.escaped(text, limit: 80))\": expected HOST:PORT (PORT a number or *)")
        var host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { throw bad }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.firstIndex(of: ":") else { throw bad }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, !host.contains(" ") else { throw bad }
        if portText == "*" {
            port = nil
        } else {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let number = Int(portText), (1...65535).contains(number) else { throw bad }
            port = number
        }
        self.host = String(host)
    }

    public func allows(host requested: String, port requestedPort: Int) -> Bool {
        (host == "*" || host.lowercased() == requested.lowercased()) && (port == nil || port == requestedPort)
    }

    public var description: String {
        let shownHost = host.contains(":") || host.hasPrefix("[") ? "[\(host)]" : host
        return "\(shownHost):\(port.map(String.init) ?? "*")"
    }
}

/// `expiry-time="YYYYMMDD[HHMM[SS]][Z]"`: local time of the agent, or UTC with `Z`.
public struct ExpiryTime: Equatable, Sendable, CustomStringConvertible {
    let year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
    let utc: Bool
    public let description: String

    init(parsing text: String) throws(KeyOptions.ParseError) {
        var digits = Substring(text)
        let utc = digits.hasSuffix("Z") || digits.hasSuffix("z")
        if utc { digits = digits.dropLast() }
        guard [8, 12, 14].contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw KeyOptions.ParseError("expiry-time=\"\(LogText.escaped(text, limit: 40))\": expected YYYYMMDD[HHMM[SS]][Z]")
        }
        let numbers = Array(digits.utf8).map { Int($0 - UInt8(ascii: "0")) }
        func number(_ range: Range<Int>) -> Int { range.reduce(0) { $0 * 10 + numbers[$1] } }
        let y = number(0..<4), mo = number(4..<6), d = number(6..<8)
        let h = numbers.count > 8 ? number(8..<10) : 0
        let mi = numbers.count > 8 ? number(10..<12) : 0
        let s = numbers.count > 12 ? number(12..<14) : 0
        guard y >= 1970, (1...12).contains(mo), (1...ExpiryTime.daysIn(mo, y)).contains(d), h < 24, mi < 60, s < 60 else {
            throw KeyOptions.ParseError("expiry-time=\"\(LogText.escaped(text, limit: 40))\" is not a valid date and time")
        }
        (year, month, day, hour, minute, second) = (y, mo, d, h, mi, s)
        self.utc = utc
        description = text
    }

    /// Seconds since 1970; `utcOffset` is the agent's local offset east of UTC (ignored for `Z`).
    public func epoch(utcOffset: Int) -> Double {
        let local = ExpiryTime.daysSince1970(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        return Double(utc ? local : local - utcOffset)
    }

    func isEarlier(than other: ExpiryTime) -> Bool { epoch(utcOffset: 0) < other.epoch(utcOffset: 0) }

    static func daysIn(_ month: Int, _ year: Int) -> Int {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    static func daysSince1970(_ y: Int, _ m: Int, _ d: Int) -> Int {
        let year = m <= 2 ? y - 1 : y
        let era = year / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

private let equals = UInt8(ascii: "=")
private let comma = UInt8(ascii: ",")
private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")
private func asciiLowercased(_ bytes: ArraySlice<UInt8>) -> String {
    String(decoding: bytes.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }, as: UTF8.self)
}
private func isAlphanumeric(_ c: UInt8) -> Bool {
    (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
}
