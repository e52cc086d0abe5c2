import ConvergeNet
import ConvergeWire

/// The operator's view as HTML, rendered by the server: a whole page that reads without
/// JavaScript, and the live part alone, which Server-Sent Events carry to an open page.
/// Everything an agent or a client sent is escaped: a hostile agent's host name
/// (`<script>…`) shows as text.
public struct SessionsPage {
    public let view: SessionsView
    public let totals: Metrics
    /// Unix seconds, for durations.
    public let now: Double

    public init(view: SessionsView, totals: Metrics, now: Double) {
        self.view = view
        self.totals = totals
        self.now = now
    }

    static let columns = ["ID", "registered", "state", "stops waiting / expires", "version", "host", "OS", "user", "directory", "CI job"]

    /// The totals and the table: what an update replaces.
    public var live: String {
        var out = "<p class=\"totals\">\(totals.agentsWaiting) agent connection\(totals.agentsWaiting == 1 ? "" : "s") waiting · \(totals.agentIDs) ID\(totals.agentIDs == 1 ? "" : "s") registered · "
        out += "\(totals.sessionsActive) session\(totals.sessionsActive == 1 ? "" : "s") now, \(totals.sessionsTotal) since start · "
        out += "bytes relayed: client→agent \(totals.bytesClientToAgent), agent→client \(totals.bytesAgentToClient) · refused: "
        let refused = totals.refused.keys.sorted { $0.rawValue < $1.rawValue }
        out += refused.isEmpty ? "none" : refused.map { "\($0.rawValue) \(totals.refused[$0]!)" }.joined(separator: ", ")
        out += " · at \(Clock.isoTimestamp(now))</p>\n<table>\n<thead><tr>"
        for column in SessionsPage.columns { out += "<th>\(column)</th>" }
        out += "</tr></thead>\n<tbody>\n"
        let rows = view.rows
        out.reserveCapacity(out.utf8.count + rows.count * 600 + view.sessions.count * 400)
        if rows.isEmpty { out += "<tr><td colspan=\"\(SessionsPage.columns.count)\" class=\"empty\">no agent is registered</td></tr>\n" }
        // Agents registered in the same second share their time's text (10,000 rows: one
        // formatting per distinct second, not two per row).
        var times: [Int: String] = [:]
        func time(_ epoch: Double) -> String {
            if let text = times[Int(epoch)] { return text }
            let text = Clock.isoTimestamp(epoch)
            times[Int(epoch)] = text
            return text
        }
        for (agent, sessions) in rows {
            agentRow(agent, sessions: sessions.count, time: time, into: &out)
            for session in sessions { out += sessionRow(session, time: time) }
        }
        out += "</tbody>\n</table>"
        return out
    }

    func agentRow(_ agent: SessionsView.Agent, sessions: Int, time: (Double) -> String, into out: inout String) {
        let e = DocsPage.escape
        var state = sessions == 0 ? "waiting" : "\(sessions) connected"
        if agent.loggedIn > 0 { state += ", \(agent.loggedIn) logged in" }
        let ends: String
        if let expires = agent.expires {
            ends = "expires \(time(expires))"
        } else if let wait = agent.facts.waitUntil, agent.loggedIn == 0, sessions == 0 {
            ends = "stops waiting \(time(wait))"
        } else {
            ends = ""
        }
        let facts = agent.facts
        let job = facts.jobURL.map { url in
            SessionsPage.isLink(url) ? "<a href=\"\(e(url))\" rel=\"noreferrer\">\(e(url))</a>" : e(url)
        } ?? ""
        let id = e(agent.id)
        out += "<tr class=\"agent\" data-id=\""; out += id; out += "\"><td class=\"id\">"; out += id
        out += "</td><td>"; out += time(agent.registered)
        out += "</td><td class=\"state\">"; out += state
        out += "</td><td>"; out += ends
        out += "</td><td>"; out += e(facts.version ?? "")
        out += "</td><td class=\"host\">"; out += e(facts.host ?? "")
        out += "</td><td>"; out += e(facts.os ?? "")
        out += "</td><td>"; out += e(facts.user ?? "")
        out += "</td><td>"; out += e(facts.directory ?? "")
        out += "</td><td>"; out += job
        out += "</td></tr>\n"
    }

    func sessionRow(_ session: SessionsView.Session, time: (Double) -> String) -> String {
        let e = DocsPage.escape
        let duration = DurationText.of(now - session.started)
        return "<tr class=\"session\" data-id=\"\(e(session.id))\"><td></td><td colspan=\"\(SessionsPage.columns.count - 1)\">"
            + "<span class=\"client\">\(e(session.client))</span> · <span class=\"path\">\(e(session.path))</span> · "
            + "since \(time(session.started)) (<span class=\"duration\">\(duration)</span>) · "
            + "client→agent <span class=\"up\">\(session.clientToAgent)</span> bytes · agent→client <span class=\"down\">\(session.agentToClient)</span> bytes</td></tr>\n"
    }

    /// Only http(s) links: a `javascript:` URL from a hostile agent stays text.
    static func isLink(_ url: String) -> Bool {
        let lower = url.lowercased()
        return lower.hasPrefix("https://") || lower.hasPrefix("http://")
    }

    /// The whole page; with JavaScript it follows `/sessions/events` and replaces the live part.
    public var html: String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Converge sessions</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
        table{border-collapse:collapse;width:100%;font-size:.9em}
        th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top;overflow-wrap:break-word}
        td.id{white-space:nowrap;font-family:ui-monospace,monospace}
        tr.agent td{background:#f6f8fa}
        tr.session td{color:#444;font-size:.95em}
        td.state{font-weight:bold}
        .totals{color:#444}
        .status{color:#888;font-size:.85em}
        </style></head><body>
        <h1>Converge sessions</h1>
        <p class="status"><span id="status"><noscript>Reload the page for fresh numbers (with JavaScript it updates by itself).</noscript></span> The same data as JSON: <a href="api/sessions">api/sessions</a>.</p>
        <div id="live">
        \(live)
        </div>
        <script>
        (function () {
          if (!window.EventSource) return;
          var live = document.getElementById('live'), status = document.getElementById('status');
          var events = new EventSource(location.pathname.replace(/\\/?$/, '') + '/events');
          events.addEventListener('state', function (e) { live.innerHTML = e.data; status.textContent = 'live ·'; });
          events.onerror = function () { status.textContent = 'connection lost, reconnecting…'; };
        })();
        </script>
        </body></html>

        """
    }
}
