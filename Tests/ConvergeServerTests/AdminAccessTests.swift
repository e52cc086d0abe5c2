import Testing
import ConvergeWire
@testable import ConvergeServer

private func basic(_ user: String, _ password: String) -> String {
    "Basic " + Base64.encode(Array("\(user):\(password)".utf8))
}

@Suite struct AdminAccessTests {
    let token = "admin-token-0123456789"

    @Test func offWithoutTokensOrUser() {
        #expect(AdminAccess().check(authorization: basic("a", token)) == .disabled)
        #expect(!AdminAccess().isEnabled)
    }

    @Test func anyUserNameWithAToken() throws {
        let access = AdminAccess(tokens: try AgentTokens(parsing: "# ops\n\(token)\n"))
        #expect(access.check(authorization: basic("ops", token)) == .granted)
        #expect(access.check(authorization: basic("", token)) == .granted)
        #expect(access.check(authorization: basic("ops", token + "x")) == .denied)
        #expect(access.check(authorization: basic(token, "")) == .denied)
        #expect(access.check(authorization: nil) == .denied)
        #expect(access.check(authorization: "Bearer \(token)") == .denied)
        #expect(access.check(authorization: "Basic not-base64!") == .denied)
    }

    @Test func theServersUserAndPassword() {
        let access = AdminAccess(user: AdminAccess.User(name: "ci", password: "long password: with colon"))
        #expect(access.check(authorization: basic("ci", "long password: with colon")) == .granted)
        #expect(access.check(authorization: "basic " + Base64.encode(Array("ci:long password: with colon".utf8))) == .granted)
        #expect(access.check(authorization: basic("other", "long password: with colon")) == .denied)
        #expect(access.check(authorization: basic("ci", "long password")) == .denied)
    }

    @Test func basicCredentialsSplitAtTheFirstColon() {
        let parsed = AdminAccess.basicCredentials(basic("u", "p:q"))
        #expect(parsed?.user == "u" && parsed?.password == "p:q")
        #expect(AdminAccess.basicCredentials("Basic " + Base64.encode(Array("nocolon".utf8))) == nil)
    }

    @Test func throttleShutsTheDoorAfterAFewFailuresAndDoublesIt() {
        var throttle = AdminThrottle()
        for i in 0..<AdminThrottle.freeFailures {
            #expect(throttle.lockout("192.0.2.1", now: 100) == 0)
            throttle.failed("192.0.2.1", now: 100 + Double(i) * 0.001)
        }
        let first = throttle.lockout("192.0.2.1", now: 100)
        #expect(first > 0.9 && first <= 1.01)
        #expect(throttle.lockout("192.0.2.2", now: 100) == 0)
        throttle.failed("192.0.2.1", now: 102)
        #expect(throttle.lockout("192.0.2.1", now: 102) == 2)
        for _ in 0..<20 { throttle.failed("192.0.2.1", now: 103) }
        #expect(throttle.lockout("192.0.2.1", now: 103) == AdminThrottle.longestLockout)
        #expect(throttle.lockout("192.0.2.1", now: 103 + 601) == 0)
        throttle.succeeded("192.0.2.1")
        #expect(throttle.lockout("192.0.2.1", now: 103) == 0)
    }

    @Test func throttleTableStaysBounded() {
        var throttle = AdminThrottle(maxAddresses: 10)
        for i in 0..<100 { throttle.failed("10.0.0.\(i)", now: Double(i)) }
        #expect(throttle.lockout("10.0.0.99", now: 99) == 0)  // one failure: not locked
        for _ in 0..<3 { throttle.failed("10.0.0.99", now: 100) }
        #expect(throttle.lockout("10.0.0.99", now: 100) > 0)
    }
}
