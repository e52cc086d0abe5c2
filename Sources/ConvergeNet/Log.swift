import Glibc

/// One-line logs with a UTC ISO 8601 time stamp, written straight to a file descriptor
/// (no stdio buffering: a CI log must show each line as it happens).
/// Values from the network go through `LogText.escaped` so they cannot forge a line.
public struct Log: Sendable {
    public let fd: Int32

    public static let stdout = Log(fd: 1)
    public static let stderr = Log(fd: 2)

    public init(fd: Int32) { self.fd = fd }

    public func write(_ message: String) {
        writeLine("\(Clock.isoTimestamp()) \(message)")
    }

    /// The line as given, without a time stamp (a command-line tool's own messages).
    public func writeLine(_ message: String) {
        var line = Array("\(message)\n".utf8)
        var offset = 0
        while offset < line.count {
            let n = line.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
        line.removeAll()
    }
}

/// Wall and monotonic time without Foundation.
public enum Clock {
    /// Seconds on the monotonic clock, for deadlines and durations.
    public static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Seconds since the epoch.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// `2026-11-25T01:02:03Z` for the given epoch seconds (default: now).
    public static func isoTimestamp(_ epoch: Double? = nil) -> String {
        var seconds = time_t(epoch ?? now())
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))Z"
    }
}
