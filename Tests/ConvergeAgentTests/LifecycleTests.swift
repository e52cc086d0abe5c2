import Testing
@testable import ConvergeAgent

@Suite struct LifecycleTests {
    let t0 = 1_000_000.0

    func make(timeout: Double = 600, hold: Double = 1800, warn: [Double] = [300, 60]) -> Lifecycle {
        Lifecycle(settings: .init(waitTimeout: timeout, holdPeriod: hold, warnBefore: warn), started: t0)
    }

    @Test func nobodyLoggedInEndsAtTheTimeout() {
        var life = make(timeout: 10)
        #expect(life.tick(now: t0 + 9.9).end == nil)
        #expect(life.tick(now: t0 + 10).end == .nobodyLoggedIn(timeout: 10))
        #expect(life.expiry == nil)
    }

    @Test func aConnectionThatNeverLogsInDoesNotCount() {
        var life = make(timeout: 10)
        life.loggedOut(7)  // a session that never logged in ends
        #expect(life.tick(now: t0 + 10).end == .nobodyLoggedIn(timeout: 10))
    }

    @Test func aLoginStopsTheWaitTimeoutAndSetsTheExpiry() {
        var life = make(timeout: 10, hold: 100)
        life.loggedIn(1, now: t0 + 5)
        #expect(life.expiry == t0 + 105)
        #expect(life.tick(now: t0 + 50).end == nil)
    }

    @Test func endsWhenTheFirstClientLeavesAndNobodyElseIsIn() {
        var life = make()
        life.loggedIn(1, now: t0 + 1)
        life.loggedIn(2, now: t0 + 2)
        life.loggedOut(1)
        #expect(life.tick(now: t0 + 3).end == nil)  // the second is still in
        life.loggedOut(2)
        #expect(life.tick(now: t0 + 4).end == .firstClientLeft)
    }

    @Test func aSecondClientLeavingFirstDoesNotEnd() {
        var life = make()
        life.loggedIn(1, now: t0 + 1)
        life.loggedIn(2, now: t0 + 2)
        life.loggedOut(2)
        #expect(life.tick(now: t0 + 3).end == nil)  // the first is still in
        #expect(life.firstClientLeft == false)
    }

    @Test func holdKeepsItAfterLogoutAndRemovalEndsAtOnce() {
        var life = make(hold: 100)
        life.loggedIn(1, now: t0)
        #expect(life.hold(mtime: t0 + 10) == .appeared)
        life.loggedOut(1)
        #expect(life.tick(now: t0 + 20).end == nil)
        #expect(life.hold(mtime: nil) == .removed)
        #expect(life.tick(now: t0 + 21).end == .holdRemoved)
    }

    @Test func holdBeforeTheFirstLoginDoesNotStopTheWaitTimeout() {
        var life = make(timeout: 10)
        _ = life.hold(mtime: t0)
        #expect(life.tick(now: t0 + 10).end == .nobodyLoggedIn(timeout: 10))
    }

    @Test func expiryIsTheLaterOfFirstLoginAndHoldPlusThePeriod() {
        var life = make(hold: 100)
        life.loggedIn(1, now: t0 + 50)
        #expect(life.expiry == t0 + 150)
        #expect(life.hold(mtime: t0 + 20) == .appeared)  // older than the login: no change
        #expect(life.expiry == t0 + 150)
        #expect(life.hold(mtime: t0 + 80) == .touched)
        #expect(life.expiry == t0 + 180)
        #expect(life.hold(mtime: t0 + 80) == Lifecycle.HoldChange.none)
        #expect(Lifecycle.expiry(firstLogin: t0, holdMtime: nil, holdPeriod: 5) == t0 + 5)
    }

    @Test func activityMovesTheExpiryToHoldAfterIt() {
        var life = make(hold: 10, warn: [3])
        life.activity(at: t0 - 5)  // before any login: nothing to extend
        #expect(life.lastActivity == nil)
        life.loggedIn(1, now: t0)
        #expect(life.expiry == t0 + 10)
        life.activity(at: t0 + 6)
        #expect(life.expiry == t0 + 16)
        life.activity(at: t0 + 4)  // a late report of earlier activity never pulls it back
        #expect(life.expiry == t0 + 16)
        #expect(life.tick(now: t0 + 12).end == nil)
        #expect(life.tick(now: t0 + 13).warning == 3)
        life.activity(at: t0 + 14)  // after the warning: it comes again before the new expiry
        #expect(life.tick(now: t0 + 16).end == nil)
        #expect(life.tick(now: t0 + 21).warning == 3)
        #expect(life.tick(now: t0 + 24).end == .expired(at: t0 + 24))
        _ = life.hold(mtime: t0 + 30)
        #expect(life.expiry == t0 + 40)  // the later of .hold and activity
        #expect(Lifecycle.expiry(firstLogin: t0, holdMtime: t0 + 1, lastActivity: t0 + 2, holdPeriod: 5) == t0 + 7)
    }

    @Test func expiryEndsEvenWithClientsIn() {
        var life = make(hold: 100)
        life.loggedIn(1, now: t0)
        #expect(life.tick(now: t0 + 99).end == nil)
        #expect(life.tick(now: t0 + 100).end == .expired(at: t0 + 100))
    }

    @Test func warningsOnceEachAtTheirTimes() {
        var life = make(hold: 600, warn: [60, 300])
        life.loggedIn(1, now: t0)
        #expect(life.tick(now: t0 + 299).warning == nil)
        #expect(life.tick(now: t0 + 300).warning == 300)
        #expect(life.tick(now: t0 + 301).warning == nil)
        #expect(life.tick(now: t0 + 540.5).warning == 59.5)
        #expect(life.tick(now: t0 + 541).warning == nil)
    }

    @Test func touchingHoldMovesTheWarning() {
        var life = make(hold: 10, warn: [3])
        life.loggedIn(1, now: t0)
        _ = life.hold(mtime: t0)
        #expect(life.tick(now: t0 + 2).warning == nil)
        _ = life.hold(mtime: t0 + 2)  // expiry t0 + 12: the warning moves to t0 + 9
        #expect(life.tick(now: t0 + 7.5).warning == nil)
        #expect(life.tick(now: t0 + 9).warning == 3)
        // Touched again after the warning: it comes again before the new expiry.
        _ = life.hold(mtime: t0 + 9.5)
        #expect(life.tick(now: t0 + 10).warning == nil)
        #expect(life.tick(now: t0 + 16.6).warning != nil)
    }

    @Test func aWarningLongerThanTheHoldIsSkipped() {
        var life = make(hold: 10, warn: [60])
        life.loggedIn(1, now: t0)
        #expect(life.tick(now: t0 + 1).warning == nil)
    }

    @Test func spansAndTimes() {
        #expect(Lifecycle.utc(0) == "1970-01-01 00:00:00 UTC")
    }

    @Test func noticesNameTheHoldCommandAndTheExpiry() {
        let notices = LifecycleNotices(id: "a1", holdPath: "/job dir/it's/.hold", holdPeriod: 1800, agentPID: 42)
        let greeting = notices.greeting(user: "me", expiry: 1800, now: 0, holding: false)
        #expect(greeting.contains("agent a1: logged in as me"))
        #expect(greeting.contains("expires at 1970-01-01 00:30:00 UTC (in 30m)"))
        #expect(greeting.contains("touch '/job dir/it'\\''s/.hold'"))
        #expect(greeting.contains("kill 42"))
        #expect(notices.warning(expiry: 1800, left: 300).contains("(in 5m). Any activity (typing, sftp, forwarded bytes) extends it to 30m after that"))
        #expect(notices.warning(expiry: 1800, left: 300).contains("keep it after you log out: touch '/job dir/"))
        #expect(greeting.contains("anything you type"))
    }

    @Test func controlMessagesRoundTrip() {
        let messages: [ControlMessage] = [
            .login(at: 1234.5, user: "a user with spaces", method: "password (agent)", fingerprint: nil),
            .login(at: 1, user: "me", method: "publickey", fingerprint: "SHA256:abc"),
            .logout, .guessFailed, .active(at: 12.5), .expiry(99.25), .warn("\nexpires soon\n"), .close("bye now"),
        ]
        for message in messages {
            var expected = message
            if case .login(let at, let user, let method, let fp) = message {
                expected = .login(at: at, user: user, method: method.replacingSpaces, fingerprint: fp)
            }
            #expect(ControlMessage(decoding: message.encoded) == expected)
        }
        #expect(ControlMessage(decoding: Array("bogus".utf8)) == nil)
        #expect(ControlMessage(decoding: Array("login x y".utf8)) == nil)
    }

    @Test func controlMessagesWithTimesNobodyCanPrintAreRefused() {
        // Found by Fuzz/fuzz-agent-leg: such an expiry trapped in Lifecycle.utc (time_t conversion).
        for text in ["expiry 4200007333333333333333333333333333333333332000", "expiry inf", "expiry nan", "expiry -1e300",
                     "login inf password - me", "login -inf publickey SHA256:abc me"] {
            #expect(ControlMessage(decoding: Array(text.utf8)) == nil, "\(text)")
        }
        #expect(ControlMessage(decoding: Array("expiry 1700001800.5".utf8)) == .expiry(1700001800.5))
    }

    @Test func controlSocketsCarryMessages() throws {
        let (a, b) = try ControlSocket.pair()
        defer { b.close() }
        #expect(b.receive() == .nothing)
        a.send(.warn("one"))
        a.send(.logout)
        #expect(b.receive() == .message(.warn("one")))
        #expect(b.receive() == .message(.logout))
        a.close()
        #expect(b.receive() == .closed)
    }
}

extension String {
    fileprivate var replacingSpaces: String { String(map { $0 == " " ? "_" : $0 }) }
}
