import Testing
@testable import ConvergeServer

/// Checks the Prometheus text exposition format line by line and returns the samples.
private func samples(_ text: String) -> [String: String] {
    #expect(text.hasSuffix("\n"))
    var result: [String: String] = [:]
    var typed: [String: String] = [:]
    var helped: Set<String> = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
        if line.hasPrefix("# HELP ") {
            let name = String(line.dropFirst(7).prefix { $0 != " " })
            #expect(!helped.contains(name), "HELP twice for \(name)")
            helped.insert(name)
        } else if line.hasPrefix("# TYPE ") {
            let parts = line.dropFirst(7).split(separator: " ")
            #expect(parts.count == 2 && ["counter", "gauge"].contains(String(parts[1])), "\(line)")
            #expect(typed[String(parts[0])] == nil, "TYPE twice for \(parts[0])")
            typed[String(parts[0])] = String(parts[1])
        } else {
            let pieces = line.split(separator: " ")
            #expect(pieces.count == 2, "\(line)")
            guard pieces.count == 2 else { continue }
            let series = String(pieces[0])
            let name = String(series.prefix { $0 != "{" })
            #expect(name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }, "\(name)")
            #expect(typed[name] != nil, "\(name) sampled before its TYPE")
            if typed[name] == "counter" { #expect(name.hasSuffix("_total"), "\(name)") }
            if series.contains("{") {
                #expect(series.hasSuffix("\"}"), "\(series)")
            }
            #expect(UInt64(pieces[1]) != nil || Int(pieces[1]) != nil, "\(line)")
            #expect(result[series] == nil, "\(series) twice")
            result[series] = String(pieces[1])
        }
    }
    return result
}

@Suite struct MetricsTests {
    @Test func freshMetrics() {
        let values = samples(Metrics().rendered)
        #expect(values["converge_agents_waiting"] == "0")
        #expect(values["converge_agent_ids"] == "0")
        #expect(values["converge_sessions_active"] == "0")
        #expect(values["converge_sessions_total"] == "0")
        #expect(values["converge_bytes_relayed_total{direction=\"client_to_agent\"}"] == "0")
        #expect(values["converge_bytes_relayed_total{direction=\"agent_to_client\"}"] == "0")
        #expect(Metrics().rendered.contains("# TYPE converge_connections_refused_total counter\n"))
    }

    @Test func values() {
        var metrics = Metrics()
        metrics.agentsWaiting = 3
        metrics.agentIDs = 2
        metrics.sessionsActive = 1
        metrics.sessionsTotal = 42
        metrics.bytesClientToAgent = UInt64.max
        metrics.bytesAgentToClient = 1 << 40
        let values = samples(metrics.rendered)
        #expect(values["converge_agents_waiting"] == "3")
        #expect(values["converge_agent_ids"] == "2")
        #expect(values["converge_sessions_active"] == "1")
        #expect(values["converge_sessions_total"] == "42")
        #expect(values["converge_bytes_relayed_total{direction=\"client_to_agent\"}"] == "18446744073709551615")
        #expect(values["converge_bytes_relayed_total{direction=\"agent_to_client\"}"] == "1099511627776")
    }

    @Test func refusalsByReasonSorted() {
        var metrics = Metrics()
        for limit: Limit in [.notFound, .maxHeadBytes, .notFound, .idInUse, .notFound] { metrics.refuse(limit) }
        #expect(metrics.refused == [.notFound: 3, .maxHeadBytes: 1, .idInUse: 1])
        let text = metrics.rendered
        let values = samples(text)
        #expect(values["converge_connections_refused_total{reason=\"not_found\"}"] == "3")
        #expect(values["converge_connections_refused_total{reason=\"id_in_use\"}"] == "1")
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("converge_connections_refused_total{") }
        #expect(lines == ["converge_connections_refused_total{reason=\"id_in_use\"} 1",
                          "converge_connections_refused_total{reason=\"max_head_bytes\"} 1",
                          "converge_connections_refused_total{reason=\"not_found\"} 3"])
    }

    @Test func buildInfo() {
        var metrics = Metrics()
        #expect(samples(metrics.rendered)["converge_build_info{version=\"0.0.0-dev\",commit=\"unknown\"}"] == "1")
        metrics.version = "1.2.3"
        metrics.commit = "0123456789ab"
        #expect(samples(metrics.rendered)["converge_build_info{version=\"1.2.3\",commit=\"0123456789ab\"}"] == "1")
        #expect(metrics.rendered.contains("# TYPE converge_build_info gauge\n"))
        #expect(Metrics.label("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    }

    @Test func aLimitIsTaggedByItsName() {
        #expect(Limit.headTimeout.tag() == "(limit: head_timeout)")
        #expect(Limit.maxSessionsPerID.tag(32) == "(limit: max_sessions_per_id 32)")
        #expect("\(Limit.maxConnectionsPerAddress)" == "max_connections_per_address")
    }

    @Test func helpAndTypeComeFirst() {
        let text = Metrics().rendered
        #expect(text.hasPrefix("# HELP converge_agents_waiting "))
        #expect(text.contains("# HELP converge_agents_waiting Offered agent connections waiting for a client.\n# TYPE converge_agents_waiting gauge\nconverge_agents_waiting 0\n"))
    }
}
