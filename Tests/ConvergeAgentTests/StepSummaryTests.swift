import ConvergeWire
import Testing
@testable import ConvergeAgent

@Suite struct StepSummaryTests {
    @Test func theBlockHasTheIDCommandsFingerprintAndKnownHostsLine() throws {
        let key = try SSHHostKey.generate()
        let banner = AgentBanner(id: "run-7-00ff", wantedID: "run-7", server: try ServerURL(parsing: "wss://c.example.com"), hostKey: key,
                                 serverUser: nil, keyCount: 1, hasAgentPassword: false,
                                 jump: AgentRegistration.JumpHost(port: 2222, publicKeyLine: nil))
        let text = StepSummary.markdown(banner)
        #expect(text.hasPrefix("### Converge: SSH into this job\n\n- ID: `run-7-00ff` (`run-7` is held by another agent)\n"))
        #expect(text.contains("- Host key: `\(key.fingerprint)`\n"))
        #expect(text.contains("```sh\nssh -J c.example.com:2222 -oHostKeyAlias=converge-run-7-00ff USER@run-7-00ff\n"))
        #expect(text.contains("sftp -J c.example.com:2222 -oHostKeyAlias=converge-run-7-00ff USER@run-7-00ff\n"))
        #expect(text.contains("ssh -oServerAliveInterval=10 -oHostKeyAlias=converge-run-7-00ff -oProxyCommand=\"wsproxy wss://c.example.com/client/run-7-00ff\" USER@localhost\n"))
        #expect(text.contains("```\nconverge-run-7-00ff \(key.publicKeyLine)\n```\n"))
        #expect(text.hasSuffix("\n\n"))
    }

    @Test func withoutAJumpHostOnlyWsproxy() throws {
        let banner = AgentBanner(id: "a", server: try ServerURL(parsing: "ws://h:8000"), hostKey: try SSHHostKey.generate(),
                                 serverUser: "ci", keyCount: 0, hasAgentPassword: true, jump: nil)
        let text = StepSummary.markdown(banner)
        #expect(!text.contains(" -J "))
        #expect(text.contains("```sh\nssh -oServerAliveInterval=10 -oHostKeyAlias=converge-a -oProxyCommand=\"wsproxy ws://h:8000/client/a\" ci@localhost\n"))
        #expect(!text.contains("held by another agent"))
    }
}
