import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// The operator's view in the master: who may see it, the page, its JSON, and the live
/// updates (Server-Sent Events) written to each open page without blocking.
extension Master {
    func serveSessions(_ c: Connection, _ request: HTTPRequestHead, _ what: Route.Sessions, label: String, now: Double) {
        guard config.admin.isEnabled else {
            metrics.refuse(.notFound)
            log.write("\(c.peer) \(label) 404 (the sessions page is off)")
            return respond(c, Responses.text(404, "the sessions page is off: start converge with --admin-token-file FILE (or --user NAME) to enable it"), now: now)
        }
        let address = c.address ?? c.peer
        let wait = adminThrottle.lockout(address, now: now)
        if wait > 0 {
            metrics.refuse(.adminAuth)
            log.write("\(c.peer) \(label) refused 429: too many wrong credentials \(Limit.adminAuth.tag())")
            return respond(c, Responses.text(429, "too many wrong credentials, try again in \(Int(wait.rounded(.up)))s \(Limit.adminAuth.tag())",
                                             headers: ["Retry-After": "\(Int(wait.rounded(.up)))"]), now: now)
        }
        let authorization = request.headers["Authorization"]
        guard config.admin.check(authorization: authorization) == .granted else {
            // A browser's first request carries no credentials: only a wrong one counts.
            if authorization != nil {
                adminThrottle.failed(address, now: now)
                metrics.refuse(.adminAuth)
                log.write("\(c.peer) \(label) refused 401: wrong credentials for the sessions page \(Limit.adminAuth.tag())")
            } else {
                log.write("\(c.peer) \(label) 401 (asked for credentials)")
            }
            return respond(c, Responses.text(401, "the sessions page needs a user and an admin token (or the server's --user and password)",
                                             headers: ["WWW-Authenticate": AdminAccess.challenge]), now: now)
        }
        adminThrottle.succeeded(address)
        refreshGauges()
        let wall = Clock.now()
        switch what {
        case .page(let headOnly):
            log.write("\(c.peer) \(label) 200")
            let page = SessionsPage(view: sessionsView, totals: metrics, now: wall).html
            respond(c, Responses.make(200, contentType: "text/html; charset=utf-8", body: Array(page.utf8), headOnly: headOnly), now: now)
        case .api(let headOnly):
            log.write("\(c.peer) \(label) 200")
            let json = SessionsJSON(view: sessionsView, totals: metrics, now: wall).text
            respond(c, Responses.make(200, contentType: "application/json", body: Array(json.utf8), headOnly: headOnly), now: now)
        case .events:
            log.write("\(c.peer) \(label) 200 (live updates)")
            startEventStream(c, now: now)
        }
    }

    /// The gauges of /metrics, read from where they live.
    func refreshGauges() {
        metrics.agentsWaiting = registry.offerCount
        metrics.agentIDs = registry.idCount
        metrics.sessionsActive = workers.activeCount
        metrics.jumpConnections = jump?.count ?? 0
    }

    /// What an open page has seen: the view's version and the counters beside it.
    var liveVersion: Int {
        var version = sessionsView.version &+ metrics.sessionsTotal &+ registry.offerCount
        for count in metrics.refused.values { version = version &+ Int(truncatingIfNeeded: count) }
        return version
    }

    /// `/sessions/events`: the head, a reconnection delay, and the full state at once
    /// (a page that reconnects gets everything again); `publishSessions` does the rest.
    func startEventStream(_ c: Connection, now: Double) {
        var head = HTTPResponseHead(status: 200)
        head.headers.add("Content-Type", "text/event-stream; charset=utf-8")
        head.headers.add("Cache-Control", "no-store")
        // nginx passes each event at once (deploy/nginx.conf also has proxy_buffering off).
        head.headers.add("X-Accel-Buffering", "no")
        head.headers.add("Connection", "close")
        c.state = .streaming(version: liveVersion, lastWrite: now)
        c.outbox = head.serialized + Array("retry: 2000\n\n".utf8) + sessionsEvent()
        c.outboxSent = 0
        eventStreams.insert(c.fd)
        writeStream(c, now: now)
    }

    /// From the sweep: each open page gets what `EventSchedule` says, the new state
    /// rendered once for all of them. A page still reading its last update is skipped, so
    /// a slow reader holds one update, never a growing queue.
    func publishSessions(now: Double) {
        guard !eventStreams.isEmpty else { return }
        let current = liveVersion
        var update: [UInt8]? = nil
        for fd in eventStreams {
            guard let c = connections[fd], case .streaming(let version, let lastWrite) = c.state else { continue }
            switch EventSchedule.next(seen: version, current: current, lastWrite: lastWrite, now: now, writing: c.outboxSent < c.outbox.count) {
            case .update:
                if update == nil {
                    refreshGauges()
                    update = sessionsEvent()
                }
                c.outbox = update!
            case .keepalive:
                c.outbox = Array(": keepalive\n\n".utf8)
            case .nothing:
                continue
            }
            c.outboxSent = 0
            c.state = .streaming(version: current, lastWrite: now)
            writeStream(c, now: now)
        }
    }

    /// One `state` event: the live part of the page, a `data:` line per line of HTML.
    func sessionsEvent() -> [UInt8] {
        let live = SessionsPage(view: sessionsView, totals: metrics, now: Clock.now()).live
        var text = "event: state\n"
        for line in live.split(separator: "\n", omittingEmptySubsequences: false) { text += "data: \(line)\n" }
        text += "\n"
        return Array(text.utf8)
    }

    /// Writes what the socket takes; waits for room (EPOLLOUT) for the rest.
    func writeStream(_ c: Connection, now: Double) {
        while c.outboxSent < c.outbox.count {
            let sent = c.outboxSent
            let n = c.outbox.withUnsafeBytes { send(c.fd.rawValue, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { return loop.watch(c.fd, writable: true) }
            if n <= 0 { return drop(c, now: now) }
            c.outboxSent += n
        }
        c.outbox = []
        c.outboxSent = 0
        loop.watch(c.fd)
    }

    /// IDs the registry has forgotten leave the view.
    func noteForgottenIDs() {
        for id in registry.takeForgotten() { sessionsView.left(id: id) }
    }
}
