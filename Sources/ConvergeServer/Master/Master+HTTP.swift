import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// The master's plain HTTP: a request head read under its limits, routed, and answered
/// with the docs page, /metrics or a download; WebSocket upgrades go on to pairing.
extension Master {
    func readHead(_ c: Connection, now: Double) {
        let parsed: (head: HTTPRequestHead, length: Int)?
        do {
            parsed = try HTTPRequestHead.parse(c.inbox, limit: config.maxHeadBytes, resuming: &c.headBoundary)
        } catch {
            let limit = error.status == 431 ? " \(Limit.maxHeadBytes.tag())" : ""
            metrics.refuse(error.status == 431 ? .maxHeadBytes : .badRequest)
            log.write("\(c.peer) refused \(error.status): \(error.description)\(limit)")
            return respond(c, Responses.text(error.status, "\(error.description)\(limit)"), now: now)
        }
        guard let (head, length) = parsed else { return }
        c.inbox.removeFirst(length)
        c.headBoundary = HTTPHeadBoundary()
        if let proxy = c.proxy, !admitForwarded(c, head, proxy: proxy, now: now) { return }
        route(c, head, now: now)
    }

    func route(_ c: Connection, _ request: HTTPRequestHead, now: Double) {
        let what = "\(request.method) \(LogText.escaped(request.target))"
        switch Route.of(request) {
        case .docsPage:
            serveDocsPage(c, request, what: what, now: now)
        case .metrics:
            refreshGauges()
            respond(c, Responses.make(200, contentType: "text/plain; version=0.0.4", body: Array(metrics.rendered.utf8), headOnly: request.method == "HEAD"), now: now)
        case .sessions(let kind):
            serveSessions(c, request, kind, label: what, now: now)
        case .download(let name, let headOnly):
            serveDownload(c, name: name, headOnly: headOnly, what: what, now: now)
        case .refuse(let status, let message, let headers):
            metrics.refuse(status == 404 ? .notFound : status == 405 ? .methodNotAllowed : .badRequest)
            log.write("\(c.peer) \(what) \(status)")
            respond(c, Responses.text(status, message, headers: headers), now: now)
        case .registerAgent(let id):
            registerAgent(c, request, id: id, now: now)
        case .connectClient(let id):
            connectClient(c, request, id: id, now: now)
        }
    }

    /// The usage page, with the address the reader used to reach us.
    func serveDocsPage(_ c: Connection, _ request: HTTPRequestHead, what: String, now: Double) {
        let (secure, host) = DocsPage.publicAddress(headers: { request.headers[$0] }, fallbackHost: "\(config.listenHost):\(config.listenPort)")
        var docs = DocsPage(secure: secure, host: host, user: config.user)
        docs.tokenRequired = config.agentTokens != nil
        if let jump {
            docs.jump = DocsPage.Jump(port: jump.options.shownPort, publicKeyLine: jump.publicKeyLine, fingerprint: jump.hostKey.fingerprint)
        }
        let page = docs.html
        log.write("\(c.peer) \(what) 200")
        respond(c, Responses.make(200, contentType: "text/html; charset=utf-8", body: Array(page.utf8), headOnly: request.method == "HEAD"), now: now)
    }

    func serveDownload(_ c: Connection, name: String, headOnly: Bool, what: String, now: Double) {
        let path = config.downloadsDirectory + "/" + name
        let file = try? FileDescriptor.open(FilePath(path), .readOnly, options: .closeOnExec)
        var info = stat()
        guard let file, fstat(file.rawValue, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            try? file?.close()
            log.write("\(c.peer) \(what) 404 (\(name) is not in \(config.downloadsDirectory))")
            return respond(c, Responses.text(404, "\(name) is not available on this server"), now: now)
        }
        log.write("\(c.peer) \(what) 200 \(info.st_size) bytes")
        let send = headOnly ? nil : Connection.FileSend(fd: file, offset: 0, size: Int(info.st_size))
        if headOnly { try? file.close() }
        respond(c, Responses.fileHead(name: name, size: Int(info.st_size)), file: send, now: now)
    }
}
