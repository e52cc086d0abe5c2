import ConvergeCommandLine
import Testing

@Suite struct CommandLineValueTests {
    @Test func durations() throws {
        #expect(try TimeSpan.parse("90s").seconds == 90)
        #expect(try TimeSpan.parse("10m").seconds == 600)
        #expect(try TimeSpan.parse("2h").seconds == 7200)
        #expect(try TimeSpan.parse("1h30m").seconds == 5400)
        #expect(try TimeSpan.parse("1d2h3m4s").seconds == 93784)
        #expect(try TimeSpan.parse("0s").seconds == 0)
        #expect(TimeSpan(argument: "5m") == TimeSpan(seconds: 300))
        for bad in ["", "10", "m", "10x", "1h1h", "-5m", "1.5h", "5 m", "99999999999999999999s"] {
            #expect(TimeSpan(argument: bad) == nil, "\(bad)")
        }
        do {
            _ = try TimeSpan.parse("10")
        } catch {
            #expect(error.description == "invalid duration '10': missing unit; use a number with a unit: 90s, 10m, 2h or 1h30m")
        }
    }

    @Test func durationDescriptionRoundTrips() throws {
        for seconds in [0, 1, 59, 60, 90, 3600, 5400, 86400, 93784] {
            let span = TimeSpan(seconds: seconds)
            #expect(try TimeSpan.parse(span.description) == span)
        }
        #expect(TimeSpan(seconds: 5400).description == "1h30m")
    }

    @Test func hostPorts() throws {
        #expect(try HostPort.parse("127.0.0.1:10000") == HostPort(host: "127.0.0.1", port: 10000))
        #expect(try HostPort.parse("[::1]:8000") == HostPort(host: "::1", port: 8000))
        #expect(try HostPort.parse("0.0.0.0:8000") == HostPort(host: "0.0.0.0", port: 8000))
        #expect(try HostPort.parse("localhost:0") == HostPort(host: "localhost", port: 0))
        #expect(HostPort(host: "::1", port: 8000).description == "[::1]:8000")
        for bad in ["127.0.0.1", ":80", "host:", "host:65536", "host:-1", "::1:80", "[::1]", "[::1]80", "[host]:80", "a b:80", "host:8o"] {
            #expect(HostPort(argument: bad) == nil, "\(bad)")
        }
    }
}
