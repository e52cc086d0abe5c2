import Testing
@testable import ConvergeAgent
import ConvergeWire

@Suite struct AuthPolicyTests {
    let key = AuthorizedKeysFile(parsing: ed25519Line).keys[0]
    let teamHash = PasswordHash(password: "team-secret", iterations: 1_000)

    @Test func serverUserPasswordOnlyForThatName() {
        let policy = SSHAuthPolicy(serverUser: .init(name: "team", passwordHash: teamHash))
        #expect(policy.offersPassword && !policy.offersPublicKey && !policy.isEmpty)
        #expect(policy.checkPassword(user: "team", password: "team-secret") == .accepted(.serverUserPassword))
        #expect(policy.checkPassword(user: "team", password: "nope") == .rejected(reason: "wrong password"))
        if case .rejected(let reason) = policy.checkPassword(user: "root", password: "team-secret") {
            #expect(reason.hasPrefix("unknown user"))
        } else {
            Issue.record("another user name must not log in with the server user's password")
        }
    }

    @Test func agentPasswordForAnyUser() {
        let policy = SSHAuthPolicy(agentPassword: "agent-pw")
        #expect(policy.checkPassword(user: "anyone", password: "agent-pw") == .accepted(.agentPassword))
        #expect(policy.checkPassword(user: "anyone", password: "agent-pw ") == .rejected(reason: "wrong password"))
        #expect(policy.checkPassword(user: "anyone", password: "") == .rejected(reason: "wrong password"))
    }

    @Test func emptyAgentPasswordIsNotSet() {
        let policy = SSHAuthPolicy(agentPassword: "")
        #expect(policy.isEmpty)
        #expect(policy.checkPassword(user: "x", password: "") == .rejected(reason: "password logins are not enabled"))
    }

    @Test func bothPasswordsTogether() {
        let policy = SSHAuthPolicy(serverUser: .init(name: "team", passwordHash: teamHash), agentPassword: "agent-pw")
        #expect(policy.checkPassword(user: "team", password: "agent-pw") == .accepted(.agentPassword))
        #expect(policy.checkPassword(user: "team", password: "team-secret") == .accepted(.serverUserPassword))
        #expect(policy.checkPassword(user: "bob", password: "team-secret") == .rejected(reason: "wrong password"))
    }

    @Test func keysForAnyUserAndReasons() {
        let policy = SSHAuthPolicy(authorizedKeys: [key])
        #expect(policy.offersPublicKey && !policy.offersPassword)
        #expect(policy.checkKey(type: "ssh-ed25519", blob: key.blob, client: "192.0.2.7:4711", now: 0) == .accepted(key))
        var other = key.blob
        other[other.count - 1] ^= 1
        #expect(policy.checkKey(type: "ssh-ed25519", blob: other, client: "192.0.2.7:4711", now: 0) == .rejected(reason: "key not in the authorized keys"))
        #expect(policy.checkKey(type: "ssh-dss", blob: other, client: "192.0.2.7:4711", now: 0) == .rejected(reason: "unsupported key type ssh-dss: DSA keys are not supported"))
        #expect(policy.checkKey(type: "ssh-ed25519-cert-v01@openssh.com", blob: key.blob, client: "192.0.2.7:4711", now: 0)
                == .rejected(reason: "unsupported key type ssh-ed25519-cert-v01@openssh.com: certificates are not supported"))
        #expect(SSHAuthPolicy().checkKey(type: "ssh-ed25519", blob: key.blob, client: "192.0.2.7:4711", now: 0) == .rejected(reason: "public key logins are not enabled"))
    }

    @Test func throttleCountsProbesButDelaysOnlyGuesses() {
        var throttle = AuthThrottle(maxFailures: 6, delayStep: 1, maxDelay: 4)
        #expect(throttle.recordFailure(isGuess: false) == 0)
        #expect(throttle.recordFailure(isGuess: true) == 1)
        #expect(throttle.recordFailure(isGuess: true) == 2)
        #expect(throttle.recordFailure(isGuess: true) == 3)
        #expect(throttle.recordFailure(isGuess: true) == 4)
        #expect(!throttle.isExhausted)
        #expect(throttle.recordFailure(isGuess: true) == 4)
        #expect(throttle.isExhausted && throttle.failures == 6)
    }
}

@Suite struct LoginLimitsTests {
    @Test func throttleStartsFromTheSourcesEarlierGuesses() {
        var throttle = AuthThrottle(maxFailures: 6, delayStep: 1, maxDelay: 8, priorGuesses: 3)
        #expect(throttle.recordFailure(isGuess: false) == 0)  // a key offer is never delayed
        #expect(throttle.recordFailure(isGuess: true) == 4)
        #expect(throttle.recordFailure(isGuess: true) == 5)
        var long = AuthThrottle(maxFailures: 20, delayStep: 1, maxDelay: 8, priorGuesses: 30)
        #expect(long.recordFailure(isGuess: true) == 8)
        #expect(AuthThrottle().maxFailures == 6 && AuthThrottle().maxDelay == 8)
    }

    @Test func penaltiesGrowPerSourceAndAreForgotten() {
        var penalties = SourcePenalties(memory: 600, maxSources: 100)
        #expect(penalties.guesses(from: "192.0.2.7", now: 0) == 0)
        penalties.recordGuess(from: "192.0.2.7", now: 0)
        penalties.recordGuess(from: "192.0.2.7", now: 10)
        penalties.recordGuess(from: "198.51.100.1", now: 10)
        #expect(penalties.guesses(from: "192.0.2.7", now: 20) == 2)
        #expect(penalties.guesses(from: "198.51.100.1", now: 20) == 1)
        #expect(penalties.guesses(from: "203.0.113.5", now: 20) == 0)
        // Counted from the last guess: 600 s of quiet and the source starts over.
        #expect(penalties.guesses(from: "192.0.2.7", now: 609) == 2)
        #expect(penalties.guesses(from: "192.0.2.7", now: 610) == 0)
        penalties.recordGuess(from: "192.0.2.7", now: 700)
        #expect(penalties.guesses(from: "192.0.2.7", now: 700) == 1)
    }

    @Test func penaltiesStayBoundedForManySources() {
        var penalties = SourcePenalties(memory: 600, maxSources: 3)
        for (i, source) in ["a", "b", "c", "d", "e"].enumerated() { penalties.recordGuess(from: source, now: Double(i)) }
        #expect(penalties.count == 3)
        #expect(penalties.guesses(from: "e", now: 5) == 1)
        #expect(penalties.guesses(from: "a", now: 5) == 0)  // the oldest went first
    }

    @Test func clientAddressWithoutItsPort() {
        #expect(SourcePenalties.address(of: "192.0.2.7:51234") == "192.0.2.7")
        #expect(SourcePenalties.address(of: "[2001:db8::1]:51234") == "2001:db8::1")
        #expect(SourcePenalties.address(of: "192.0.2.7") == "192.0.2.7")
        #expect(SourcePenalties.address(of: "2001:db8::1") == "2001:db8::1")
        #expect(SourcePenalties.address(of: "unknown") == "unknown")
    }

    @Test func loginSlotsFillAndFreeOnLoginOrEnd() {
        var slots = LoginSlots(limit: 2)
        #expect(!slots.isFull)
        slots.started(100)
        slots.started(101)
        #expect(slots.isFull)
        slots.loggedIn(100)  // a logged-in client no longer counts
        #expect(!slots.isFull)
        slots.started(102)
        #expect(slots.isFull)
        slots.ended(101)
        #expect(!slots.isFull)
        slots.ended(100)  // ended after its login: counted once only
        slots.loggedIn(999)  // unknown processes change nothing
        #expect(slots.waiting == [102])
    }
}
