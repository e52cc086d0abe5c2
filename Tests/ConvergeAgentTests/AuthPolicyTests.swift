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
        #expect(policy.checkKey(type: "ssh-ed25519", blob: key.blob) == .accepted(key))
        var other = key.blob
        other[other.count - 1] ^= 1
        #expect(policy.checkKey(type: "ssh-ed25519", blob: other) == .rejected(reason: "key not in the authorized keys"))
        #expect(policy.checkKey(type: "ssh-dss", blob: other) == .rejected(reason: "unsupported key type ssh-dss: DSA keys are not supported"))
        #expect(policy.checkKey(type: "ssh-ed25519-cert-v01@openssh.com", blob: key.blob)
                == .rejected(reason: "unsupported key type ssh-ed25519-cert-v01@openssh.com: certificates are not supported"))
        #expect(SSHAuthPolicy().checkKey(type: "ssh-ed25519", blob: key.blob) == .rejected(reason: "public key logins are not enabled"))
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
