/// Durations as our command lines spell them (`90s`, `10m`, `1h30m`, `2d`), for help
/// texts, log lines and messages: one spelling everywhere, and what a flag's default
/// prints parses back as that flag.
public enum DurationText {
    /// `0s`, `45s`, `1m30s`, `1h30m`, `1d2h3m4s`: the shortest form with units d, h, m, s.
    public static func of(seconds: Int) -> String {
        var rest = max(0, seconds)
        if rest == 0 { return "0s" }
        var text = ""
        for (unit, scale) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= scale {
            text += "\(rest / scale)\(unit)"
            rest %= scale
        }
        return text
    }

    /// Rounded to whole seconds (`0.2` is `0s`). With `tenths`, a duration below 10 s
    /// keeps one decimal instead (`0.4s`, `8.0s`): retry delays are that short.
    public static func of(_ seconds: Double, tenths: Bool = false) -> String {
        if tenths && seconds < 10 { return "\(Double(Int((seconds * 10).rounded())) / 10)s" }
        return of(seconds: Int(max(0, seconds).rounded()))
    }
}
