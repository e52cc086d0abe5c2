import Foundation
import Testing
import ConvergeWire
@testable import ConvergeServer

private func facts(host: String) -> AgentFacts {
    var facts = AgentFacts()
    facts.host = host
    facts.version = "converge-agent 0.1"
    facts.jobURL = "https://ci.example/job/1?a=1&b=2"
    facts.waitUntil = 1_765_000_600
    return facts
}

@Suite struct SessionsViewTests {
    @Test func anAgentComesIsConnectedToAndLeaves() {
        var view = SessionsView()
        view.offered(id: "job-1", facts: facts(host: "runner"), now: 1_765_000_000)
        #expect(view.agents["job-1"]?.registered == 1_765_000_000)
        view.offered(id: "job-1", facts: AgentFacts(), now: 1_765_000_050)
        #expect(view.agents["job-1"]?.registered == 1_765_000_000, "a re-offer keeps the row's registration time")
        #expect(view.agents["job-1"]?.facts.host == "runner", "a re-offer without facts keeps them")

        let before = view.version
        view.started(number: 4242, id: "job-1", client: "203.0.113.7:5555", path: "ssh", now: 1_765_000_100)
        view.bytes(number: 4242, clientToAgent: 1000, agentToClient: 20000)
        view.state(id: "job-1", AgentStateLine(loggedIn: 1, expires: 1_765_003_700))
        #expect(view.version > before)
        #expect(view.rows.first?.sessions.first?.agentToClient == 20000)
        #expect(view.agents["job-1"]?.loggedIn == 1)

        view.left(id: "job-1")
        #expect(view.agents["job-1"] != nil, "a row stays while its sessions run")
        view.ended(number: 4242)
        #expect(view.agents.isEmpty && view.sessions.isEmpty)
    }

    @Test func rowsComeInRegistrationOrder() {
        var view = SessionsView()
        view.offered(id: "b", facts: AgentFacts(), now: 2)
        view.offered(id: "a", facts: AgentFacts(), now: 3)
        view.offered(id: "c", facts: AgentFacts(), now: 1)
        #expect(view.rows.map(\.agent.id) == ["c", "b", "a"])
    }

    @Test func reportsForUnknownSessionsAreIgnored() {
        var view = SessionsView()
        view.bytes(number: 1, clientToAgent: 1, agentToClient: 1)
        view.ended(number: 1)
        view.state(id: "nobody", AgentStateLine(loggedIn: 3, expires: nil))
        view.left(id: "nobody")
        #expect(view.agents.isEmpty && view.sessions.isEmpty)
    }
}

@Suite struct SessionsPageTests {
    func sample() -> SessionsView {
        var view = SessionsView()
        var hostile = facts(host: "<script>alert(1)</script>")
        hostile.jobURL = "javascript:alert(2)"
        hostile.directory = "\"><img src=x onerror=alert(3)>"
        view.offered(id: "evil", facts: hostile, now: 1_765_000_000)
        view.offered(id: "job-1", facts: facts(host: "runner"), now: 1_765_000_001)
        view.started(number: 7, id: "job-1", client: "203.0.113.7:5555", path: "ws", now: 1_765_000_010)
        view.bytes(number: 7, clientToAgent: 123, agentToClient: 45678)
        return view
    }

    @Test func hostileFactsShowAsText() {
        let html = SessionsPage(view: sample(), totals: Metrics(), now: 1_765_000_070).html
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!html.contains("<script>alert"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("href=\"javascript:"))
        #expect(html.contains("<a href=\"https://ci.example/job/1?a=1&amp;b=2\""))
        // The live part has only the page's own tags.
        let live = SessionsPage(view: sample(), totals: Metrics(), now: 1_765_000_070).live
        let tags = Set(live.split(separator: "<", omittingEmptySubsequences: false).dropFirst().map { $0.prefix { $0 != " " && $0 != ">" } })
        #expect(tags == ["p", "/p", "table", "/table", "thead", "/thead", "tbody", "/tbody", "tr", "/tr", "th", "/th", "td", "/td", "a", "/a", "span", "/span"])
    }

    @Test func rowsSayWaitingOrConnectedWithTheSessionsBytes() {
        let live = SessionsPage(view: sample(), totals: Metrics(), now: 1_765_000_070).live
        #expect(live.contains("<td class=\"state\">waiting</td>"))
        #expect(live.contains("<td class=\"state\">1 connected</td>"))
        #expect(live.contains("stops waiting 2025-12-06T05:56:40Z"))
        #expect(live.contains("<span class=\"client\">203.0.113.7:5555</span>"))
        #expect(live.contains("<span class=\"duration\">1m</span>"))
        #expect(live.contains("<span class=\"down\">45678</span>"))
        #expect(SessionsPage(view: SessionsView(), totals: Metrics(), now: 0).live.contains("no agent is registered"))
    }

    @Test func totalsAreMetricsNumbers() {
        var metrics = Metrics()
        metrics.agentsWaiting = 3
        metrics.sessionsTotal = 9
        metrics.bytesAgentToClient = 777
        metrics.refuse(.adminAuth)
        let live = SessionsPage(view: SessionsView(), totals: metrics, now: 0).live
        #expect(live.contains("3 agent connections waiting"))
        #expect(live.contains("9 since start"))
        #expect(live.contains("agent→client 777"))
        #expect(live.contains("admin_auth 1"))
    }

    @Test func jsonHasTheDocumentedShape() throws {
        var metrics = Metrics()
        metrics.refuse(.notFound)
        let text = SessionsJSON(view: sample(), totals: metrics, now: 1_765_000_070).text
        #expect(!text.contains("<script>"))
        let root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let totals = try #require(root["totals"] as? [String: Any])
        #expect((totals["refused"] as? [String: Any])?["not_found"] as? Int == 1)
        let agents = try #require(root["agents"] as? [[String: Any]])
        #expect(agents.map { $0["id"] as? String } == ["evil", "job-1"])
        #expect(agents[0]["host"] as? String == "<script>alert(1)</script>")
        #expect(agents[0]["state"] as? String == "waiting")
        #expect(agents[0]["expires"] is NSNull)
        #expect(agents[1]["state"] as? String == "connected")
        #expect(agents[1]["connected"] as? Int == 1)
        let session = try #require((agents[1]["sessions"] as? [[String: Any]])?.first)
        #expect(session["client"] as? String == "203.0.113.7:5555")
        #expect(session["path"] as? String == "ws")
        #expect(session["duration_seconds"] as? Int == 60)
        #expect(session["bytes_agent_to_client"] as? Int == 45678)
        #expect(session["started"] as? String == "2025-12-06T05:46:50Z")
    }

    @Test func jsonStringsEscapeControlsQuotesAndMarkup() {
        #expect(JSONText.quoted("a\"b\\c\n\u{1}<&>") == "\"a\\\"b\\\\c\\n\\u0001\\u003c\\u0026\\u003e\"")
        #expect(JSONText.quoted(nil) == "null")
    }
}

@Suite struct EventScheduleTests {
    @Test func changesGoOutAtMostOnceASecond() {
        #expect(EventSchedule.next(seen: 1, current: 2, lastWrite: 100, now: 100.5, writing: false) == .nothing)
        #expect(EventSchedule.next(seen: 1, current: 2, lastWrite: 100, now: 101, writing: false) == .update)
    }

    @Test func quietStreamsGetAKeepaliveComment() {
        #expect(EventSchedule.next(seen: 2, current: 2, lastWrite: 100, now: 114, writing: false) == .nothing)
        #expect(EventSchedule.next(seen: 2, current: 2, lastWrite: 100, now: 115, writing: false) == .keepalive)
    }

    @Test func aPageStillReadingGetsNothingMore() {
        #expect(EventSchedule.next(seen: 1, current: 2, lastWrite: 100, now: 200, writing: true) == .nothing)
    }
}
