import Testing
@testable import ConvergeAgent
import Glibc
import SystemPackage

/// How the agent comes back after a fault: the retry delays, and finding the processes a
/// killed session process left behind.
@Suite struct AgentRecoveryTests {
    @Test func backoffDoublesToEightSecondsAndNeverWaitsLonger() {
        var backoff = RetryBackoff()
        backoff.random = { 0 }
        let delays = (0..<8).map { _ in backoff.nextDelay(now: 100, budget: 300)! }
        #expect(delays == [0.5, 1, 2, 4, 8, 8, 8, 8])
        backoff.reset()
        #expect(backoff.nextDelay(now: 200, budget: 300) == 0.5)
    }

    @Test func backoffIsShortenedAtRandomByUpToAQuarter() {
        var backoff = RetryBackoff()
        backoff.random = { 1 }
        for _ in 0..<4 { _ = backoff.nextDelay(now: 0, budget: 300) }
        #expect(backoff.nextDelay(now: 0, budget: 300) == 6)
        let drawn = RetryBackoff().random()
        #expect(drawn >= 0 && drawn <= 1)
    }

    @Test func backoffGivesUpWhenTheBudgetIsSpent() {
        var backoff = RetryBackoff()
        backoff.random = { 0 }
        #expect(backoff.nextDelay(now: 0, budget: 10) == 0.5)
        #expect(backoff.nextDelay(now: 9.5, budget: 10) == 0.5)  // never past the budget
        #expect(backoff.nextDelay(now: 10, budget: 10) == nil)
    }

    @Test func parentPIDIsReadPastACommandNameWithSpacesAndParentheses() {
        #expect(ProcessTable.parentPID(stat: "4242 (sleep) S 17 4242 4242 0 -1") == 17)
        #expect(ProcessTable.parentPID(stat: "4242 (a) b (c)) R 1 4242 4242 0 -1") == 1)
        #expect(ProcessTable.parentPID(stat: "4242 (truncated") == nil)
    }

    @Test func childrenOfThisProcessIncludeOneItStarted() throws {
        let child = try ChildLauncher.launch(path: "/bin/sleep", arguments: ["sleep", "30"], environment: [], terminal: nil)
        defer {
            kill(child.pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(child.pid, &status, 0)
            for fd in [child.input, child.output] + (child.errorOutput.map { [$0] } ?? []) { try? fd.close() }
        }
        #expect(ProcessTable.children(of: getpid()).contains(child.pid))
        #expect(!ProcessTable.children(of: child.pid).contains(getpid()))
    }
}
