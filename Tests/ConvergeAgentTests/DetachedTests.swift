import Testing
@testable import ConvergeAgent

@Suite struct DetachedTests {
    @Test func theStateFileIsReadLineByLine() {
        let state = Detached.State(parsing: "pid 4242\nshown 1234\nexit 1 the server refused ID x: taken\n")
        #expect(state.pid == 4242)
        #expect(state.shown == 1234)
        #expect(state.ending == .init(status: 1, why: "the server refused ID x: taken"))
        let running = Detached.State(parsing: "pid 7\n")
        #expect(running.pid == 7 && running.shown == 0 && running.ending == nil)
        let junk = Detached.State(parsing: "pid x\nshown\nexit nope\n\ngarbage line\nexit 0\n")
        #expect(junk.pid == nil && junk.ending == .init(status: 0, why: ""))
    }

    @Test func theExitLineKeepsTheFirstLineOfWhy() {
        #expect(Detached.State.exitLine(.configuration("no way to log in\n  1. do this")) == "exit 2 no way to log in")
        #expect(Detached.State.exitLine(.normal("exiting: stopped by SIGTERM")) == "exit 0 exiting: stopped by SIGTERM")
        let parsed = Detached.State(parsing: "pid 1\n" + Detached.State.exitLine(.failure("lost")) + "\n")
        #expect(parsed.ending == .init(status: 1, why: "lost"))
    }

    @Test func waitingRestartsOnlyBeforeTheFirstLogin() {
        var lifecycle = Lifecycle(settings: .init(waitTimeout: 10, holdPeriod: 100, warnBefore: []), started: 1000)
        let before = lifecycle.tick(now: 1009)
        #expect(before.end == nil)
        let restarted = lifecycle.restartWaiting(now: 1008)
        #expect(restarted)
        let soon = lifecycle.tick(now: 1012)
        #expect(soon.end == nil)
        let late = lifecycle.tick(now: 1018)
        #expect(late.end == .nobodyLoggedIn(timeout: 10))
        var loggedIn = Lifecycle(settings: .init(waitTimeout: 10, holdPeriod: 100, warnBefore: []), started: 1000)
        loggedIn.loggedIn(1, now: 1005)
        let again = loggedIn.restartWaiting(now: 1008)
        #expect(!again)
        #expect(loggedIn.started == 1000)
    }
}
