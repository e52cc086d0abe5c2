import ArgumentParser
import ConvergeCommandLine
import Testing

/// A command shaped like the agent: options, and a URL that is required.
private struct Dialer: ParsableCommand {
    @Option var id: String?
    @Flag var verbose = false
    @OptionGroup var server: ServerOptions<ServerBaseURL>
}

@Suite struct CommandMainTests {
    private func message(_ argv: [String]) -> String {
        do {
            _ = try CommandMain.parse(Dialer.self, argv)
            return "parsed"
        } catch {
            return Dialer.message(for: error)
        }
    }

    @Test func anUnknownOptionIsNamedBeforeAMissingArgument() {
        #expect(message(["--no-such-flag"]) == "Unknown option '--no-such-flag'")
        #expect(message(["--id", "a", "-x"]) == "Unknown option '-x'")
        #expect(message(["--verbose", "--no-such-flag", "--id", "a"]) == "Unknown option '--no-such-flag'")
        #expect(message(["--no-such-flag", "ws://h"]) == "Unknown option '--no-such-flag'")
    }

    @Test func aMissingArgumentAloneIsStillSaid() {
        #expect(message([]) == "Missing expected argument '<url>'")
        #expect(message(["--id", "a", "--verbose"]) == "Missing expected argument '<url>'")
        #expect(message(["--id"]).hasPrefix("Missing value for '--id"))
        #expect(message(["--id", "a", "ws://h"]) == "parsed")
    }

    @Test func buildStamps() {
        #expect(BuildInfo(stamp: "1.2.3 0123456789ab") == BuildInfo(version: "1.2.3", commit: "0123456789ab"))
        #expect(BuildInfo(stamp: "0.4.0 0123456789ab-dirty").versionLine == "0.4.0 (commit 0123456789ab-dirty)")
        for broken in ["", "1.2.3", "a b c", "1.2.3 \u{1}x", "\u{FFFD}\u{FFFD}"] {
            #expect(BuildInfo(stamp: broken) == .development, "\(broken)")
        }
        // Tests run a build that `make dist` never stamped.
        #expect(BuildInfo.current == .development)
        #expect(BuildInfo.development.versionLine == "0.0.0-dev (commit unknown)")
    }
}
