import CShims
import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// The single-threaded master: accepts connections, reads request heads under limits,
/// answers plain HTTP, keeps agents' offered connections, pairs clients with them and
/// hands each pair to a splice worker process. It never blocks on a socket or a worker.
public final class Master {
    let config: ServerConfig
    let log = Log.stderr
    var loop: EventLoop
    let listener: TCPListener
    let signals: Int32
    /// Held open so that, out of descriptors, we can still accept and refuse politely.
    var reserveFD: Int32
    var connections: [Int32: Connection] = [:]
    var connectionsPerAddress: [String: Int] = [:]
    var registry: Registry
    var metrics = Metrics()
    var workers: WorkerPool
    var lastSweep = 0.0
    var acceptPausedUntil: Double? = nil
    var drainDeadline: Double? = nil
    /// The SSH jump host (`--ssh-listen`), when enabled.
    var jump: JumpHosts?

    public init(config: ServerConfig) throws(ServerError) {
        self.config = config
        self.registry = Registry(limits: config.registry)
        self.loop = try EventLoop()
        do {
            self.listener = try TCPListener(host: config.listenHost, port: config.listenPort, backlog: 1024)
        } catch {
            throw ServerError(error.description)
        }
        self.signals = try Signals.openSignalFD()
        self.reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        self.workers = WorkerPool(log: log, tunnelOptions: config.tunnelOptions)
        if let options = config.jump { jump = try JumpHosts(options: options, log: log) }
        loop.watch(listener.fd.rawValue)
        loop.watch(signals)
        if let jump { loop.watch(jump.listener.fd.rawValue) }
    }

    /// Serves until SIGTERM/SIGINT and the drain that follows; returns the exit status.
    public func run() -> Int32 {
        log.write("converge: listening on \(config.listenHost):\(config.listenPort), downloads from \(config.downloadsDirectory)\(config.user.map { ", user \(LogText.escaped($0))" } ?? "")")
        if !config.trustedProxies.isEmpty {
            log.write("converge: client addresses from X-Forwarded-For when the peer is a trusted proxy: \(config.trustedProxies.networks.map(\.description).joined(separator: ", "))")
        }
        if let jump {
            log.write("converge: jump host (ssh -J) listening on \(jump.options.listenHost):\(jump.options.listenPort)\(jump.options.upstream.map { ", client legs through \($0)" } ?? "")")
        }
        prepareSpare()
        while true {
            let ready = loop.wait(timeoutMs: 500)
            let now = Clock.monotonic()
            for (fd, events) in ready {
                if fd == listener.fd.rawValue { acceptAll(now: now) }
                else if fd == signals { handleSignals(now: now) }
                else if workers.owns(control: fd) { workerSpoke(fd, now: now) }
                else if fd == jump?.listener.fd.rawValue { acceptJumpConnections(now: now) }
                else if jump?.owns(control: fd) == true { jumpSpoke(fd, now: now) }
                else if let connection = connections[fd] { serve(connection, events: events, now: now) }
            }
            if now - lastSweep >= 0.5 { sweep(now: now) }
            if let deadline = drainDeadline {
                if workers.activeCount == 0 {
                    log.write("converge: all sessions ended, exiting")
                    jump?.terminateAll()
                    return 0
                }
                if now >= deadline {
                    log.write("converge: drain time (\(Int(config.drainTimeout))s) over, ending \(workers.activeCount) session(s)")
                    workers.terminateAll()
                    jump?.terminateAll()
                    return 0
                }
            }
        }
    }

    // MARK: accepting

    private func acceptAll(now: Double) {
        while true {
            let accepted: (fd: FileDescriptor, peer: SocketAddress)?
            do { accepted = try listener.accept() } catch {
                if error.code == EMFILE || error.code == ENFILE { refuseOutOfDescriptors(now: now) }
                return
            }
            guard let (socket, address) = accepted else { return }
            let fd = socket.rawValue
            let peer = address.description
            let host = address.hostAndPort.host
            // A trusted proxy's connections are counted under the client it names, once
            // the head (with X-Forwarded-For) is read: counted here, they would all be one.
            if let proxy = IPAddress(parsing: host), config.trustedProxies.trusts(proxy) {
                connections[fd] = Connection(fd: fd, peer: peer, address: nil, proxy: proxy, now: now)
                loop.watch(fd)
                continue
            }
            if let refusal = perAddressRefusal(host, peer: peer) {
                _ = refusal.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
                continue
            }
            connectionsPerAddress[host, default: 0] += 1
            connections[fd] = Connection(fd: fd, peer: peer, address: host, now: now)
            loop.watch(fd)
        }
    }

    /// The 429 for one connection too many from `address` (logged and counted), or nil.
    func perAddressRefusal(_ address: String, peer: String) -> [UInt8]? {
        guard connectionsPerAddress[address, default: 0] >= config.maxConnectionsPerAddress else { return nil }
        metrics.refuse("max_connections_per_address")
        log.write("\(peer) refused 429: limit max_connections_per_address (\(config.maxConnectionsPerAddress)) reached")
        return Responses.text(429, "too many connections from your address (limit: max_connections_per_address)")
    }

    /// For a trusted proxy's connection: takes the client from X-Forwarded-For, names it
    /// in the logs from now on and counts it per address. False when it was refused.
    private func admitForwarded(_ c: Connection, _ request: HTTPRequestHead, proxy: IPAddress, now: Double) -> Bool {
        let client: IPAddress
        do {
            client = try config.trustedProxies.client(peer: proxy, forwardedFor: request.headers.values("X-Forwarded-For"))
        } catch {
            refuse(c, 400, error.description, reason: "bad_forwarded_for", now: now)
            return false
        }
        let address = client.description
        if client != proxy { c.peer = address }
        // A jump host in front of us (a cluster's) labels its client legs.
        if request.headers["X-Converge-Path"] == "ssh" { c.path = .ssh }
        if let refusal = perAddressRefusal(address, peer: c.peer) {
            respond(c, refusal, now: now)
            return false
        }
        connectionsPerAddress[address, default: 0] += 1
        c.address = address
        return true
    }

    /// Out of descriptors: free the reserve, accept one, answer 503, and pause accepting
    /// for a moment, so the listener does not spin while it stays readable.
    func refuseOutOfDescriptors(now: Double) {
        metrics.refuse("out_of_descriptors")
        log.write("converge: refused a connection: out of file descriptors (raise the limit with ulimit -n)")
        close(reserveFD)
        if let (socket, _) = try? listener.accept() {
            _ = Responses.text(503, "server is out of file descriptors, try again later").withUnsafeBytes { write(socket.rawValue, $0.baseAddress, $0.count) }
            close(socket.rawValue)
        }
        reserveFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        loop.unwatch(listener.fd.rawValue)
        acceptPausedUntil = now + 1
    }

    // MARK: per connection

    private func serve(_ c: Connection, events: UInt32, now: Double) {
        if events & UInt32(EPOLLOUT.rawValue) != 0, case .responding = c.state {
            flush(c)
            return
        }
        guard events & (UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue) | UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLERR.rawValue)) != 0 else { return }
        switch c.state {
        case .readingHead:
            guard readMore(c, now: now) else { return drop(c, now: now) }
            readHead(c, now: now)
        case .offered:
            guard readMore(c, now: now) else {
                log.write("\(c.peer) agent id=\(idText(c)) went away while waiting")
                return drop(c, now: now)
            }
            readAgentFrames(c, now: now)
        case .waitingClient(let id, _):
            guard readMore(c, now: now) else {
                log.write("\(c.peer) client id=\(LogText.escaped(id)) gave up waiting")
                return drop(c, now: now)
            }
        case .responding:
            // Nothing more is read from a connection being answered; EOF just ends it.
            var scratch = [UInt8](repeating: 0, count: 4096)
            if read(c.fd, &scratch, scratch.count) == 0 { drop(c, now: now) }
        }
    }

    /// Reads what is there into the inbox; false on EOF or error.
    private func readMore(_ c: Connection, now: Double) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16384)
        let n = read(c.fd, &buffer, buffer.count)
        if n < 0 { return errno == EAGAIN || errno == EINTR }
        if n == 0 { return false }
        c.inbox += buffer[0..<n]
        c.lastHeard = now
        return true
    }

    private func readHead(_ c: Connection, now: Double) {
        let parsed: (head: HTTPRequestHead, length: Int)?
        do {
            parsed = try HTTPRequestHead.parse(c.inbox, limit: config.maxHeadBytes, resuming: &c.headBoundary)
        } catch {
            let limit = error.status == 431 ? " (limit: max_head_bytes)" : ""
            metrics.refuse(error.status == 431 ? "max_head_bytes" : "bad_request")
            log.write("\(c.peer) refused \(error.status): \(error.description)\(limit)")
            return respond(c, Responses.text(error.status, "\(error.description)\(limit)"), now: now)
        }
        guard let (head, length) = parsed else { return }
        c.inbox.removeFirst(length)
        c.headBoundary = HTTPHeadBoundary()
        if let proxy = c.proxy, !admitForwarded(c, head, proxy: proxy, now: now) { return }
        route(c, head, now: now)
    }

    private func route(_ c: Connection, _ request: HTTPRequestHead, now: Double) {
        let what = "\(request.method) \(LogText.escaped(request.target))"
        switch Route.of(request) {
        case .docsPage:
            let (secure, host) = DocsPage.publicAddress(headers: { request.headers[$0] }, fallbackHost: "\(config.listenHost):\(config.listenPort)")
            var docs = DocsPage(secure: secure, host: host, user: config.user)
            docs.tokenRequired = config.agentTokens != nil
            if let jump {
                docs.jump = DocsPage.Jump(port: jump.options.shownPort, publicKeyLine: jump.publicKeyLine, fingerprint: jump.hostKey.fingerprint)
            }
            let page = docs.html
            log.write("\(c.peer) \(what) 200")
            respond(c, Responses.make(200, contentType: "text/html; charset=utf-8", body: Array(page.utf8), headOnly: request.method == "HEAD"), now: now)
        case .metrics:
            metrics.agentsWaiting = registry.offerCount
            metrics.agentIDs = registry.idCount
            metrics.sessionsActive = workers.activeCount
            metrics.jumpConnections = jump?.count ?? 0
            respond(c, Responses.make(200, contentType: "text/plain; version=0.0.4", body: Array(metrics.rendered.utf8), headOnly: request.method == "HEAD"), now: now)
        case .download(let name, let headOnly):
            serveDownload(c, name: name, headOnly: headOnly, what: what, now: now)
        case .refuse(let status, let message, let headers):
            metrics.refuse(status == 404 ? "not_found" : status == 405 ? "method_not_allowed" : "bad_request")
            log.write("\(c.peer) \(what) \(status)")
            respond(c, Responses.text(status, message, headers: headers), now: now)
        case .registerAgent(let id):
            registerAgent(c, request, id: id, now: now)
        case .connectClient(let id):
            connectClient(c, request, id: id, now: now)
        }
    }

    private func serveDownload(_ c: Connection, name: String, headOnly: Bool, what: String, now: Double) {
        let path = config.downloadsDirectory + "/" + name
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        var info = stat()
        guard fd >= 0, fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            if fd >= 0 { close(fd) }
            log.write("\(c.peer) \(what) 404 (\(name) is not in \(config.downloadsDirectory))")
            return respond(c, Responses.text(404, "\(name) is not available on this server"), now: now)
        }
        log.write("\(c.peer) \(what) 200 \(info.st_size) bytes")
        let file = headOnly ? nil : Connection.FileSend(fd: fd, offset: 0, size: Int(info.st_size))
        if headOnly { close(fd) }
        respond(c, Responses.fileHead(name: name, size: Int(info.st_size)), file: file, now: now)
    }

    // MARK: pairing

    private func registerAgent(_ c: Connection, _ request: HTTPRequestHead, id: String, now: Double) {
        let key: String
        do { key = try WebSocketHandshake.validateUpgrade(request) } catch {
            return refuse(c, error.status, error.description, reason: "bad_upgrade", now: now)
        }
        if let tokens = config.agentTokens, !tokens.accepts(request.headers["X-Converge-Agent-Token"]) {
            return refuse(c, 401, "this server registers only agents with a token: set CONVERGE_AGENT_TOKEN in the agent's environment (limit: agent_token)", reason: "agent_token", now: now)
        }
        guard let agentKey = request.headers["X-Converge-Agent-Key"], agentKey.count >= 32, agentKey.count <= 128,
              agentKey.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }) else {
            return refuse(c, 400, "agents must send X-Converge-Agent-Key (32 to 128 letters and digits)", reason: "bad_agent_key", now: now)
        }
        switch registry.offer(id: id, key: agentKey, connection: Int(c.fd), now: now) {
        case .conflict:
            refuse(c, 409, "ID \(id) is in use by another agent: choose another --id", reason: "id_in_use", now: now)
        case .full(let perID):
            let limit = perID ? "max_offers_per_id" : "max_waiting_agents"
            refuse(c, 503, "server is at its limit of waiting agents (limit: \(limit))", reason: limit, now: now)
        case .offered:
            // The registry holds the offer now: the state must say so, so that dropping
            // the connection withdraws it. Until it is paired the agent may send only
            // control frames (at most 125 bytes); any data frame ends it (bad_frame).
            c.state = .offered(id: id, decoder: WebSocketDecoder(masking: .any, maxFrameSize: 1 << 16), lastPing: now)
            guard sendNow(c, agentUpgrade(key: key)) else { return drop(c, now: now) }
            log.write("\(c.peer) agent id=\(LogText.escaped(id)) offered a connection (\(registry.offerCount) waiting)")
            readAgentFrames(c, now: now)
        case .paired(let clientFD):
            guard let client = connections[Int32(clientFD)], case .waitingClient(_, let clientKey) = client.state else {
                return drop(c, now: now)  // cannot happen: the registry only holds live waiting clients
            }
            guard sendNow(c, agentUpgrade(key: key)) else {
                drop(c, now: now)
                return respond(client, Responses.text(503, "the agent's connection failed, try again"), now: now)
            }
            pair(client: client, clientKey: clientKey, agent: c, id: id, now: now)
        }
    }

    private func connectClient(_ c: Connection, _ request: HTTPRequestHead, id: String, now: Double) {
        let key: String
        do { key = try WebSocketHandshake.validateUpgrade(request) } catch {
            return refuse(c, error.status, error.description, reason: "bad_upgrade", now: now)
        }
        guard workers.activeCount < config.maxSessions else {
            return refuse(c, 503, "server is at its session limit (limit: max_sessions \(config.maxSessions))", reason: "max_sessions", now: now)
        }
        guard workers.perID.admits(id, waiting: registry.waitingCount(id), limit: config.maxSessionsPerID) else {
            return refuse(c, 503, "ID \(id) is at its session limit, try again when one of its sessions has ended (limit: max_sessions_per_id \(config.maxSessionsPerID))", reason: "max_sessions_per_id", now: now)
        }
        switch registry.connectClient(id: id, connection: Int(c.fd), now: now) {
        case .unknown:
            refuse(c, 404, "no agent is registered under ID \(id)", reason: "no_such_agent", now: now)
        case .waiting:
            c.state = .waitingClient(id: id, key: key)
            log.write("\(c.peer) client id=\(LogText.escaped(id)) waits for the agent's next connection")
        case .paired(let agentFD):
            guard let agent = connections[Int32(agentFD)] else { return }
            pair(client: c, clientKey: key, agent: agent, id: id, now: now)
        }
    }

    private func agentUpgrade(key: String) -> [UInt8] {
        var extra: [(String, String)] = []
        if let user = config.user, let hash = config.passwordHash {
            extra = [("X-Converge-User", user), ("X-Converge-Password-Hash", hash.encoded)]
        }
        if let jump {
            // The agent prints `ssh -J` commands (with the host it dialed) and can pin the jump host.
            extra += [("X-Converge-Jump-Port", "\(jump.options.shownPort)"), ("X-Converge-Jump-Host-Key", jump.publicKeyLine)]
        }
        return WebSocketHandshake.acceptResponse(key: key, extraHeaders: extra).serialized
    }

    /// Upgrades the client and hands both sockets, with what was read past their heads,
    /// to a splice worker. The master forgets them.
    private func pair(client: Connection, clientKey: String, agent: Connection, id: String, now: Double) {
        guard sendNow(client, WebSocketHandshake.acceptResponse(key: clientKey).serialized) else {
            // The agent sees its connection end and offers a new one at once.
            log.write("\(client.peer) client id=\(LogText.escaped(id)) went away before pairing")
            drop(client, now: now)
            drop(agent, now: now)
            return
        }
        let session = WorkerPool.Session(id: id, clientPeer: client.peer, agentPeer: agent.peer, path: client.path, started: now)
        forget(client)
        forget(agent)
        let handedOff = workers.handOff(client: client.fd, clientBytes: client.inbox, agent: agent.fd, agentBytes: agent.inbox, session: session)
        if let fd = workers.spareControl { loop.watch(fd) }
        switch handedOff {
        case .success(let pid):
            metrics.sessionsTotal += 1
            metrics.sessionsByPath[client.path.rawValue, default: 0] += 1
            log.write("\(client.peer) client id=\(LogText.escaped(id)) paired with agent \(agent.peer), session worker pid \(pid), path \(client.path.rawValue)")
        case .failure(let error):
            log.write("\(client.peer) client id=\(LogText.escaped(id)) pairing failed: \(error)")
        }
        close(client.fd)
        close(agent.fd)
    }

    // MARK: agent frames while offered

    private func readAgentFrames(_ c: Connection, now: Double) {
        guard case .offered(let id, var decoder, let lastPing) = c.state, !c.inbox.isEmpty else { return }
        var events: [WebSocketDecoder.Event] = []
        var decoded: Result<Int, WebSocketError> = .success(0)
        c.inbox.withUnsafeMutableBytes { buffer in
            do throws(WebSocketError) { decoded = .success(try decoder.decode(buffer, into: &events)) } catch { decoded = .failure(error) }
        }
        let used: Int
        switch decoded {
        case .success(let n): used = n
        case .failure(let error):
            metrics.refuse("bad_frame")
            log.write("\(c.peer) agent id=\(LogText.escaped(id)) protocol error: \(error.description)")
            _ = sendNow(c, WebSocketFrameHeader.frame(.close, payload: WebSocketFrameHeader.closePayload(code: error.closeCode, reason: error.description)))
            return drop(c, now: now)
        }
        c.inbox.removeFirst(used)
        c.state = .offered(id: id, decoder: decoder, lastPing: lastPing)
        for event in events {
            switch event {
            case .control(.ping, let payload):
                _ = sendNow(c, WebSocketFrameHeader.frame(.pong, payload: payload))
            case .control(.close, _):
                _ = sendNow(c, WebSocketFrameHeader.frame(.close, payload: WebSocketFrameHeader.closePayload(code: WebSocketCloseCode.normal, reason: "")))
                log.write("\(c.peer) agent id=\(LogText.escaped(id)) withdrew its connection")
                return drop(c, now: now)
            case .control:
                break
            case .data:
                metrics.refuse("bad_frame")
                log.write("\(c.peer) agent id=\(LogText.escaped(id)) sent data before a client was paired")
                return drop(c, now: now)
            }
        }
    }

    // MARK: answering and closing

    private func refuse(_ c: Connection, _ status: Int, _ message: String, reason: String, now: Double) {
        metrics.refuse(reason)
        log.write("\(c.peer) refused \(status): \(message)")
        respond(c, Responses.text(status, message), now: now)
    }

    private func respond(_ c: Connection, _ bytes: [UInt8], file: Connection.FileSend? = nil, now: Double) {
        c.state = .responding(file: file)
        c.outbox = bytes
        c.outboxSent = 0
        flush(c)
    }

    /// Writes as much of the answer (and file) as the socket takes; closes when all is out.
    private func flush(_ c: Connection) {
        guard case .responding(var file) = c.state else { return }
        while c.outboxSent < c.outbox.count {
            let n = c.outbox.withUnsafeBytes { write(c.fd, $0.baseAddress! + c.outboxSent, $0.count - c.outboxSent) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { return loop.watch(c.fd, writable: true) }
            if n <= 0 { return drop(c, now: Clock.monotonic()) }
            c.outboxSent += n
        }
        if var send = file {
            while send.offset < send.size {
                var offset = off_t(send.offset)
                let n = sendfile(c.fd, send.fd, &offset, send.size - send.offset)
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EAGAIN {
                    file = send
                    c.state = .responding(file: file)
                    return loop.watch(c.fd, writable: true)
                }
                if n <= 0 { return drop(c, now: Clock.monotonic()) }
                send.offset += n
                c.state = .responding(file: send)
            }
        }
        // Half-close so the client reads everything before it sees the end.
        shutdown(c.fd, Int32(SHUT_WR))
        drop(c, now: Clock.monotonic())
    }

    /// Writes a small message at once (101s, pongs); false if the socket would not take it all.
    private func sendNow(_ c: Connection, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(c.fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// Closes a connection and forgets everything about it.
    private func drop(_ c: Connection, now: Double) {
        forget(c, now: now)
        close(c.fd)
    }

    /// Removes a connection from the loop, the tables and the registry, without closing it.
    private func forget(_ c: Connection, now: Double = Clock.monotonic()) {
        loop.unwatch(c.fd)
        connections[c.fd] = nil
        if case .responding(let file?) = c.state { close(file.fd) }
        switch c.state {
        case .offered(let id, _, _): registry.withdrawOffer(id: id, connection: Int(c.fd), now: now)
        case .waitingClient(let id, _): registry.withdrawClient(id: id, connection: Int(c.fd), now: now)
        default: break
        }
        c.state = .readingHead
        if let address = c.address, let count = connectionsPerAddress[address] {
            connectionsPerAddress[address] = count > 1 ? count - 1 : nil
        }
        c.address = nil
    }

    private func idText(_ c: Connection) -> String {
        if case .offered(let id, _, _) = c.state { return LogText.escaped(id) }
        return "-"
    }

    // MARK: timers

    private func sweep(now: Double) {
        lastSweep = now
        if let until = acceptPausedUntil, now >= until, drainDeadline == nil {
            acceptPausedUntil = nil
            loop.watch(listener.fd.rawValue)
        }
        for c in Array(connections.values) {
            switch c.state {
            case .readingHead where now - c.accepted > config.headTimeout:
                metrics.refuse("head_timeout")
                log.write("\(c.peer) refused 408: request head not complete within \(Int(config.headTimeout))s (limit: head_timeout)")
                respond(c, Responses.text(408, "request head not complete within \(Int(config.headTimeout))s (limit: head_timeout)"), now: now)
            case .offered(let id, let decoder, let lastPing):
                if now - c.lastHeard > config.deadPeerTimeout {
                    metrics.refuse("dead_peer_timeout")
                    log.write("\(c.peer) agent id=\(LogText.escaped(id)) silent for \(Int(config.deadPeerTimeout))s, dropped (limit: dead_peer_timeout)")
                    drop(c, now: now)
                } else if now - lastPing >= config.pingInterval {
                    c.state = .offered(id: id, decoder: decoder, lastPing: now)
                    if !sendNow(c, WebSocketFrameHeader.frame(.ping, payload: [])) { drop(c, now: now) }
                }
            case .responding where now - c.accepted > 3600:
                drop(c, now: now)  // a download nobody reads
            default:
                break
            }
        }
        for fd in registry.expire(now: now) {
            guard let c = connections[Int32(fd)], case .waitingClient(let id, _) = c.state else { continue }
            c.state = .readingHead  // already removed from the registry
            refuse(c, 503, "the agent under ID \(id) did not offer a connection within \(Int(config.registry.clientWait))s", reason: "agent_busy", now: now)
        }
        workers.reap()
    }

    // MARK: workers and signals

    private func prepareSpare() {
        workers.prepareSpare()
        if let fd = workers.spareControl { loop.watch(fd) }
    }

    private func workerSpoke(_ fd: Int32, now: Double) {
        defer { if drainDeadline == nil { prepareSpare() } }
        for report in workers.read(control: fd) {
            metrics.bytesClientToAgent += report.clientToAgentDelta
            metrics.bytesAgentToClient += report.agentToClientDelta
            if let ended = report.ended {
                log.write("\(ended.clientPeer) session id=\(LogText.escaped(ended.id)) ended after \(String(Int((now - ended.started) * 10) / 10))s: client→agent \(report.clientToAgent) bytes, agent→client \(report.agentToClient) bytes\(report.reason.map { " (\($0))" } ?? "")")
            }
        }
    }

    private func handleSignals(now: Double) {
        for signal in Signals.read(signals) {
            switch signal {
            case SIGCHLD:
                workers.reap()
            case SIGTERM, SIGINT:
                guard drainDeadline == nil else {
                    log.write("converge: second signal, ending now")
                    workers.terminateAll()
                    exit(0)
                }
                startDrain(now: now)
            default:
                break
            }
        }
    }

    /// Stop accepting, let go of waiting agents and clients, let sessions finish.
    private func startDrain(now: Double) {
        log.write("converge: shutting down: no new connections, \(workers.activeCount) session(s) may run for up to \(Int(config.drainTimeout))s")
        drainDeadline = now + config.drainTimeout
        loop.unwatch(listener.fd.rawValue)
        listener.close()
        if let jump {
            loop.unwatch(jump.listener.fd.rawValue)
            jump.listener.close()
        }
        workers.dropSpare()
        for c in Array(connections.values) {
            if case .offered = c.state {
                _ = sendNow(c, WebSocketFrameHeader.frame(.close, payload: WebSocketFrameHeader.closePayload(code: WebSocketCloseCode.goingAway, reason: "server shutting down")))
            }
            drop(c, now: now)
        }
    }
}
