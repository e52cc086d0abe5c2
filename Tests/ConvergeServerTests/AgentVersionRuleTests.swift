import Testing
@testable import ConvergeServer

@Suite struct AgentVersionRuleTests {
    let released = AgentVersionRule(serverVersion: "1.4.2")

    @Test func versionsParseAndOrderByTheirNumbers() {
        #expect(ReleaseVersion(parsing: "0.1.0") == ReleaseVersion(major: 0, minor: 1, patch: 0))
        #expect(ReleaseVersion(parsing: "0.0.0-dev")?.isDevelopment == true)
        #expect(ReleaseVersion(parsing: "1.2.3-rc.1")?.description == "1.2.3-rc.1")
        #expect(ReleaseVersion(parsing: "0.10.0")! > ReleaseVersion(parsing: "0.9.9")!)
        for bad in ["", "1", "1.2", "1.2.3.4", "a.b.c", "1.2.3-", "1.2.3-x y", "-1.2.3", "1..3", "1234567890.0.0"] {
            #expect(ReleaseVersion(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func whoIsServed() {
        #expect(released.refusal(agentVersion: nil) == nil)
        #expect(released.refusal(agentVersion: "0.0.0-dev") == nil)
        #expect(released.refusal(agentVersion: "0.1.0") == nil)
        #expect(released.refusal(agentVersion: "1.9.0") == nil)
        #expect(released.refusal(agentVersion: "0.0.9") == "this agent (0.0.9) is older than the oldest this server (1.4.2) serves, 0.1.0")
        #expect(released.refusal(agentVersion: "2.0.0") == "this agent (2.0.0) is newer than this server (1.4.2) serves")
        #expect(released.refusal(agentVersion: "banana") == nil)
        #expect(released.refusal(agentVersion: "converge-agent 0.1") == nil)
        #expect(released.refusal(agentVersion: "converge-agent 0.1.0") == nil)
        #expect(released.refusal(agentVersion: "converge-agent 0.0.9") != nil)
        #expect(released.refusal(agentVersion: "converge-agent 3.0.0") != nil)
        // A development server serves any well-formed version from the oldest on.
        let dev = AgentVersionRule(serverVersion: "0.0.0-dev")
        #expect(dev.refusal(agentVersion: "7.0.0") == nil)
        #expect(dev.refusal(agentVersion: "0.0.1") != nil)
    }
}
