import ArgumentParser
import ConvergeWire

/// A duration as written on our command lines: `90s`, `10m`, `2h`, or combined `1h30m`
/// (units d, h, m, s; a bare number is refused, since its unit would be a guess).
///
/// `@Option var timeout: TimeSpan = TimeSpan(seconds: 600)` works directly; for an
/// error that says what is wrong with the value, add `transform: TimeSpan.parse`.
public struct TimeSpan: Equatable, Comparable, Sendable, CustomStringConvertible, ExpressibleByArgument {
    public let seconds: Int

    public init(seconds: Int) { self.seconds = seconds }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String) throws(ParseError) -> TimeSpan {
        let hint = "use a number with a unit: 90s, 10m, 2h or 1h30m"
        guard !text.isEmpty else { throw ParseError(description: "empty duration: \(hint)") }
        var total = 0
        var number: Int? = nil
        var seenUnits: Set<Character> = []
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                let (times, overflow1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (value, overflow2) = times.addingReportingOverflow(digit)
                guard !overflow1 && !overflow2 else { throw ParseError(description: "duration '\(text)' is too long") }
                number = value
                continue
            }
            let scale: Int
            switch character {
            case "d": scale = 86400
            case "h": scale = 3600
            case "m": scale = 60
            case "s": scale = 1
            default: throw ParseError(description: "invalid duration '\(text)': \(hint)")
            }
            guard let value = number, !seenUnits.contains(character) else {
                throw ParseError(description: "invalid duration '\(text)': \(hint)")
            }
            seenUnits.insert(character)
            let (part, overflow1) = value.multipliedReportingOverflow(by: scale)
            let (sum, overflow2) = total.addingReportingOverflow(part)
            guard !overflow1 && !overflow2 else { throw ParseError(description: "duration '\(text)' is too long") }
            total = sum
            number = nil
        }
        guard number == nil else { throw ParseError(description: "invalid duration '\(text)': missing unit; \(hint)") }
        return TimeSpan(seconds: total)
    }

    public init?(argument: String) {
        guard let value = try? TimeSpan.parse(argument) else { return nil }
        self = value
    }

    /// `1h30m`, `90s`, `0s`: the shortest form that parses back to the same value.
    public var description: String { DurationText.of(seconds: seconds) }

    public var defaultValueDescription: String { description }

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.seconds < b.seconds }
}
