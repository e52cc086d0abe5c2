import Testing
@testable import ConvergeWire

@Suite struct AgentFactsTests {
    @Test func headersRoundTrip() {
        var facts = AgentFacts()
        facts.version = "converge-agent 0.1"
        facts.host = "runner-7"
        facts.os = "Debian GNU/Linux 12 (bookworm), Linux 6.1.0 x86_64"
        facts.user = "runner"
        facts.directory = "/home/runner/work/ü"
        facts.jobURL = "https://github.com/o/r/actions/runs/1"
        facts.waitUntil = 1_765_000_000
        let headers = facts.headers
        let parsed = AgentFacts { name in headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        #expect(parsed == facts)
    }

    @Test func anOlderAgentSendsNothing() {
        #expect(AgentFacts { _ in nil } == AgentFacts())
        #expect(AgentFacts().headers.isEmpty)
    }

    @Test func valuesAreCutAndControlCharactersReplaced() {
        let parsed = AgentFacts { name in
            switch name {
            case AgentFacts.Header.host: return "a\r\nb\u{7}c"
            case AgentFacts.Header.user: return String(repeating: "x", count: 1000)
            case AgentFacts.Header.os: return "   "
            case AgentFacts.Header.waitUntil: return "soon"
            default: return nil
            }
        }
        #expect(parsed.host == "a??b?c")
        #expect(parsed.user?.count == AgentFacts.maxLength)
        #expect(parsed.os == nil)
        #expect(parsed.waitUntil == nil)
    }

    @Test func stateLines() {
        let line = AgentStateLine(loggedIn: 2, expires: 1_765_000_123.7)
        #expect(line.text == "converge-state logged_in=2 expires=1765000123")
        #expect(AgentStateLine(parsing: Array(line.text.utf8)) == AgentStateLine(loggedIn: 2, expires: 1_765_000_123))
        #expect(AgentStateLine(parsing: Array("converge-state logged_in=0 color=red".utf8)) == AgentStateLine(loggedIn: 0, expires: nil))
        #expect(AgentStateLine(parsing: Array("converge-state logged_in=-5 expires=x".utf8)) == AgentStateLine(loggedIn: 0, expires: nil))
        #expect(AgentStateLine(parsing: Array("hello".utf8)) == nil)
        #expect(AgentStateLine(parsing: []) == nil)
    }
}
