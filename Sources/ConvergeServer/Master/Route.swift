import ConvergeWire

/// What a request asks for, decided from its head alone (pure, so it is unit-tested).
public enum Route: Equatable, Sendable {
    case docsPage
    case download(name: String, headOnly: Bool)
    case metrics
    /// The operator's view (docs/operator-view.md): the page, its JSON, its live updates.
    case sessions(Sessions)
    case registerAgent(id: String)
    case connectClient(id: String)
    /// A plain answer: status, one-line text body, extra headers.
    case refuse(status: Int, message: String, headers: [String: String] = [:])

    public enum Sessions: Equatable, Sendable {
        case page(headOnly: Bool)
        case api(headOnly: Bool)
        case events
    }

    /// The binaries the server hands out; everything else under /docs/ is a 404.
    public static let downloadable = ["agent", "wsproxy", "tcptows"]

    public static func of(_ request: HTTPRequestHead) -> Route {
        let path = String(request.path)
        let isRead = request.method == "GET" || request.method == "HEAD"
        func onlyRead(_ route: Route) -> Route {
            isRead ? route : .refuse(status: 405, message: "method \(LogText.escaped(request.method)) is not allowed here", headers: ["Allow": "GET, HEAD"])
        }

        switch path {
        case "/", "/docs", "/docs/", "/index.html":
            return onlyRead(.docsPage)
        case "/metrics":
            return onlyRead(.metrics)
        case "/sessions", "/sessions/":
            return onlyRead(.sessions(.page(headOnly: request.method == "HEAD")))
        case "/api/sessions":
            return onlyRead(.sessions(.api(headOnly: request.method == "HEAD")))
        case "/sessions/events":
            return request.method == "GET" ? .sessions(.events) : .refuse(status: 405, message: "the event stream is read with GET", headers: ["Allow": "GET"])
        default:
            break
        }
        if path.hasPrefix("/docs/") {
            let name = String(path.dropFirst("/docs/".count))
            if name.hasSuffix(".exe") {
                return onlyRead(.refuse(status: 404, message: "Windows builds are not provided: Converge's agent, wsproxy and tcptows run on Linux"))
            }
            guard Route.downloadable.contains(name) else {
                return .refuse(status: 404, message: "no such download: the server offers agent, wsproxy and tcptows")
            }
            return onlyRead(.download(name: name, headOnly: request.method == "HEAD"))
        }
        for (prefix, makeRoute) in [("/agent/", Route.registerAgent), ("/client/", Route.connectClient)] {
            guard path.hasPrefix(prefix) else { continue }
            let id = String(path.dropFirst(prefix.count))
            guard RendezvousID.isValid(id) else {
                return .refuse(status: 400, message: "invalid ID: use 1 to 64 characters of A-Z a-z 0-9 . _ -")
            }
            guard request.method == "GET" else {
                return .refuse(status: 405, message: "WebSocket upgrades use GET", headers: ["Allow": "GET"])
            }
            return makeRoute(id)
        }
        return .refuse(status: 404, message: "not found: see / for how to use this server")
    }
}
