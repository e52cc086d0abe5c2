import Testing
@testable import ConvergeJump

@Suite struct JumpReportTests {
    @Test(arguments: [JumpReport.loggedIn, .openClientLeg, .refused(limit: "max_jump_channels"), .refused(limit: "dead_peer_timeout")])
    func roundTrips(report: JumpReport) {
        #expect(JumpReport(line: report.line) == report)
    }

    /// A report is read by the master from a process that parses untrusted SSH: anything
    /// but the exact forms is ignored, and a limit name cannot carry spaces or markup.
    @Test(arguments: ["", "ready ", "open now", "refused", "refused ", "refused Max", "refused a b", "refused <script>",
                      "refused " + String(repeating: "a", count: 65), "end 1 2", "\u{0}"])
    func rejectsAnythingElse(line: String) {
        #expect(JumpReport(line: line) == nil)
    }

    @Test func usageNamesThePortAndEndsLinesForARawTerminal() {
        let text = JumpHelpChannel.usage(port: 2222)
        #expect(text.contains("ssh  -J HOST:2222 USER@ID"))
        #expect(text.contains("sftp -J HOST:2222 USER@ID"))
        #expect(!text.replacingNewlines().contains("\n"))
    }
}

private extension String {
    /// The text with every CR LF removed: what is left must hold no bare LF.
    func replacingNewlines() -> String {
        var out = ""
        var previousCR = false
        for scalar in unicodeScalars {
            if scalar == "\n" && previousCR { out.removeLast(); previousCR = false; continue }
            previousCR = scalar == "\r"
            out.unicodeScalars.append(scalar)
        }
        return out
    }
}
