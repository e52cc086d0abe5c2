import ConvergeNet

/// The operator's view as JSON (`GET /api/sessions`), for scripts and dashboards; the
/// shape is documented with an example in docs/operator-view.md.
public struct SessionsJSON {
    public let view: SessionsView
    public let totals: Metrics
    public let now: Double

    public init(view: SessionsView, totals: Metrics, now: Double) {
        self.view = view
        self.totals = totals
        self.now = now
    }

    public var text: String {
        var out = "{\"time\":\(JSONText.time(now)),\"totals\":{"
        out += "\"agents_waiting\":\(totals.agentsWaiting),\"agent_ids\":\(totals.agentIDs),"
        out += "\"sessions_active\":\(totals.sessionsActive),\"sessions_total\":\(totals.sessionsTotal),"
        out += "\"bytes_client_to_agent\":\(totals.bytesClientToAgent),\"bytes_agent_to_client\":\(totals.bytesAgentToClient),\"refused\":{"
        out += totals.refused.keys.sorted { $0.rawValue < $1.rawValue }.map { "\(JSONText.quoted($0.rawValue)):\(totals.refused[$0]!)" }.joined(separator: ",")
        out += "}},\"agents\":["
        var firstAgent = true
        for (agent, sessions) in view.rows {
            if !firstAgent { out += "," }
            firstAgent = false
            let facts = agent.facts
            out += "{\"id\":\(JSONText.quoted(agent.id)),\"registered\":\(JSONText.time(agent.registered)),"
            out += "\"state\":\(sessions.isEmpty ? "\"waiting\"" : "\"connected\""),\"connected\":\(sessions.count),\"logged_in\":\(agent.loggedIn),"
            out += "\"waits_until\":\(JSONText.time(facts.waitUntil)),\"expires\":\(JSONText.time(agent.expires)),"
            out += "\"version\":\(JSONText.quoted(facts.version)),\"host\":\(JSONText.quoted(facts.host)),\"os\":\(JSONText.quoted(facts.os)),"
            out += "\"user\":\(JSONText.quoted(facts.user)),\"directory\":\(JSONText.quoted(facts.directory)),\"job_url\":\(JSONText.quoted(facts.jobURL)),"
            out += "\"sessions\":["
            out += sessions.map { session in
                "{\"client\":\(JSONText.quoted(session.client)),\"path\":\(JSONText.quoted(session.path)),\"started\":\(JSONText.time(session.started)),"
                    + "\"duration_seconds\":\(Int(max(0, now - session.started))),"
                    + "\"bytes_client_to_agent\":\(session.clientToAgent),\"bytes_agent_to_client\":\(session.agentToClient)}"
            }.joined(separator: ",")
            out += "]}"
        }
        out += "]}\n"
        return out
    }
}

/// JSON string literals and times, without Foundation.
enum JSONText {
    /// A JSON string (or `null`); `<`, `>` and `&` are escaped too, so the text is safe
    /// even if something embeds it in HTML.
    static func quoted(_ text: String?) -> String {
        guard let text else { return "null" }
        // Most text has nothing to escape (0xE2 starts U+2028 and U+2029).
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x3C || $0 == 0x3E || $0 == 0x26 || $0 == 0x7F || $0 == 0xE2 }) else {
            return "\"" + text + "\""
        }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += unicodeEscape(scalar.value)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { out += unicodeEscape(scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    static func unicodeEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }

    /// `"2026-11-25T01:02:03Z"`, or `null`.
    static func time(_ epoch: Double?) -> String {
        epoch.map { "\"\(Clock.isoTimestamp($0))\"" } ?? "null"
    }
}
