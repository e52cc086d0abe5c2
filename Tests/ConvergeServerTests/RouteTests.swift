import Testing
import ConvergeWire
@testable import ConvergeServer

private func route(_ method: String, _ target: String) -> Route {
    Route.of(HTTPRequestHead(method: method, target: target))
}

private func status(_ route: Route) -> Int? {
    if case .refuse(let status, _, _) = route { return status }
    return nil
}

private func message(_ route: Route) -> String? {
    if case .refuse(_, let message, _) = route { return message }
    return nil
}

@Suite struct RouteTests {
    @Test(arguments: ["/", "/docs", "/docs/", "/index.html", "/?x=1", "/docs?utm=1"])
    func docsPage(target: String) {
        #expect(route("GET", target) == .docsPage)
        #expect(route("HEAD", target) == .docsPage)
    }

    @Test(arguments: Route.downloadable)
    func downloads(name: String) {
        #expect(route("GET", "/docs/\(name)") == .download(name: name, headOnly: false))
        #expect(route("HEAD", "/docs/\(name)") == .download(name: name, headOnly: true))
        #expect(route("GET", "/docs/\(name)?v=2") == .download(name: name, headOnly: false))
        #expect(status(route("POST", "/docs/\(name)")) == 405)
    }

    @Test func downloadableBinaries() {
        #expect(Set(Route.downloadable) == ["agent", "wsproxy", "tcptows"])
    }

    @Test(arguments: ["agent.exe", "wsproxy.exe", "tcptows.exe", "anything.exe"])
    func windowsBuildsAre404WithAOneLineReason(name: String) throws {
        let answer = route("GET", "/docs/\(name)")
        #expect(status(answer) == 404)
        let text = try #require(message(answer))
        #expect(text.contains("Windows builds are not provided"))
        #expect(!text.contains("\n"))
        #expect(status(route("HEAD", "/docs/\(name)")) == 404)
    }

    @Test(arguments: ["/docs/converge", "/docs/agent/", "/docs/Agent", "/docs/agent.tar.gz", "/docs/../agent", "/docs/x/agent", "/docs//agent"])
    func unknownDownloadsAre404(target: String) {
        #expect(status(route("GET", target)) == 404)
    }

    @Test func metrics() {
        #expect(route("GET", "/metrics") == .metrics)
        #expect(route("HEAD", "/metrics") == .metrics)
        #expect(status(route("POST", "/metrics")) == 405)
        #expect(status(route("GET", "/metrics/")) == 404)
    }

    @Test func agentsAndClients() {
        #expect(route("GET", "/agent/build-1.x_Y") == .registerAgent(id: "build-1.x_Y"))
        #expect(route("GET", "/client/build-1.x_Y") == .connectClient(id: "build-1.x_Y"))
        #expect(route("GET", "/client/abc?token=1") == .connectClient(id: "abc"))
        let longest = String(repeating: "z", count: 64)
        #expect(route("GET", "/agent/\(longest)") == .registerAgent(id: longest))
        #expect(route("GET", "/client/\(longest)") == .connectClient(id: longest))
    }

    @Test(arguments: ["", "a/b", "a%2Fb", "a b", "%41", "é", "a:b", "a\\b", "../x", "x/", String(repeating: "z", count: 65)])
    func badIDsAre400(id: String) throws {
        for prefix in ["/agent/", "/client/"] {
            let answer = route("GET", prefix + id)
            #expect(status(answer) == 400, "\(prefix)\(id)")
            #expect(message(answer)?.contains("\n") == false)
        }
    }

    @Test(arguments: ["POST", "HEAD", "PUT", "DELETE", "OPTIONS"])
    func upgradesNeedGET(method: String) throws {
        for target in ["/agent/abc", "/client/abc"] {
            guard case .refuse(let status, _, let headers) = route(method, target) else {
                Issue.record("\(method) \(target) was routed")
                continue
            }
            #expect(status == 405)
            #expect(headers["Allow"] == "GET")
        }
    }

    @Test func nonReadMethodsOnPagesAre405WithAllow() throws {
        for method in ["POST", "PUT", "DELETE", "PATCH", "CONNECT"] {
            guard case .refuse(let status, _, let headers) = route(method, "/") else {
                Issue.record("\(method) / was routed")
                continue
            }
            #expect(status == 405)
            #expect(headers["Allow"] == "GET, HEAD")
        }
    }

    @Test func methodNamesInMessagesAreEscaped() throws {
        let text = try #require(message(route("X\"\\", "/")))
        #expect(text.contains("X\\\"\\\\"))
    }

    @Test(arguments: ["/agent", "/client", "/agents/x", "/clients/x", "/favicon.ico", "/robots.txt", "*", "//", "/metricsx",
                      "/AGENT/x", "/Docs", "/index.htm", "/%2e%2e/etc/passwd"])
    func everythingElseIs404(target: String) throws {
        let answer = route("GET", target)
        #expect(status(answer) == 404, "\(target)")
        #expect(message(answer)?.isEmpty == false)
        #expect(message(answer)?.contains("\n") == false)
    }

    @Test func parsedRequestsRoute() throws {
        let bytes = Array("GET /client/job-7 HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
        let head = try #require(try HTTPRequestHead.parse(bytes)).head
        #expect(Route.of(head) == .connectClient(id: "job-7"))
    }

    @Test func sessions() {
        #expect(route("GET", "/sessions") == .sessions(.page(headOnly: false)))
        #expect(route("GET", "/sessions/") == .sessions(.page(headOnly: false)))
        #expect(route("HEAD", "/api/sessions") == .sessions(.api(headOnly: true)))
        #expect(route("GET", "/sessions/events") == .sessions(.events))
        #expect(status(route("POST", "/sessions")) == 405)
        #expect(status(route("HEAD", "/sessions/events")) == 405)
    }
}
