import ConvergeNet
import ConvergeWire
import Glibc

/// Pairing: an agent's offered connection is kept (answering its pings, watching its
/// frames) until a client for its ID comes; then both are handed to a splice worker.
extension Master {
    /// `GET /agent/ID`: an agent offers a connection, kept until a client for ID comes
    /// (or paired at once with a client already waiting).
    func registerAgent(_ c: Connection, _ request: HTTPRequestHead, id: String, now: Double) {
        let key: String
        do { key = try WebSocketHandshake.validateUpgrade(request) } catch {
            return refuse(c, error.status, error.description, limit: .badUpgrade, now: now)
        }
        if let tokens = config.agentTokens, !tokens.accepts(request.headers["X-Converge-Agent-Token"]) {
            return refuse(c, 401, "this server registers only agents with a token: set CONVERGE_AGENT_TOKEN in the agent's environment \(Limit.agentToken.tag())", limit: .agentToken, now: now)
        }
        guard let agentKey = request.headers["X-Converge-Agent-Key"], agentKey.count >= 32, agentKey.count <= 128,
              agentKey.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }) else {
            return refuse(c, 400, "agents must send X-Converge-Agent-Key (32 to 128 letters and digits)", limit: .badAgentKey, now: now)
        }
        if let why = AgentVersionRule(serverVersion: config.version).refusal(agentVersion: request.headers["X-Converge-Agent-Version"]) {
            let (secure, host) = DocsPage.publicAddress(headers: { request.headers[$0] }, fallbackHost: "\(config.listenHost):\(config.listenPort)")
            return refuse(c, 426, "\(why): download the agent again from http\(secure ? "s" : "")://\(host)/docs/agent \(Limit.agentVersion.tag())",
                          limit: .agentVersion, now: now)
        }
        switch registry.offer(id: id, key: agentKey, connection: c.number, now: now) {
        case .conflict:
            refuse(c, 409, "ID \(id) is in use by another agent: choose another --id", limit: .idInUse, now: now)
        case .full(let perID):
            let limit: Limit = perID ? .maxOffersPerID : .maxWaitingAgents
            refuse(c, 503, "server is at its limit of waiting agents \(limit.tag())", limit: limit, now: now)
        case .offered:
            sessionsView.offered(id: id, facts: AgentFacts(headers: { request.headers[$0] }), now: Clock.now())
            // The registry holds the offer now: the state must say so, so that dropping
            // the connection withdraws it. Until it is paired the agent may send only
            // control frames (at most 125 bytes); any data frame ends it (bad_frame).
            c.state = .offered(id: id, decoder: WebSocketDecoder(masking: .any, maxFrameSize: 1 << 16), lastPing: now)
            guard sendNow(c, agentUpgrade(key: key)) else { return drop(c, now: now) }
            log.write("\(c.peer) agent id=\(LogText.escaped(id)) offered a connection (\(registry.offerCount) waiting)")
            readAgentFrames(c, now: now)
        case .paired(let clientNumber):
            sessionsView.offered(id: id, facts: AgentFacts(headers: { request.headers[$0] }), now: Clock.now())
            guard let client = connection(clientNumber), case .waitingClient(_, let answer) = client.state else {
                return drop(c, now: now)  // cannot happen: the registry only holds live waiting clients
            }
            guard sendNow(c, agentUpgrade(key: key)) else {
                drop(c, now: now)
                return respond(client, Responses.text(503, "the agent's connection failed, try again"), now: now)
            }
            pair(client: client, answer: answer, agent: c, id: id, now: now)
        }
    }

    /// `GET /client/ID`: a WebSocket client, answered with its 101 once paired.
    func connectClient(_ c: Connection, _ request: HTTPRequestHead, id: String, now: Double) {
        let key: String
        do { key = try WebSocketHandshake.validateUpgrade(request) } catch {
            return refuse(c, error.status, error.description, limit: .badUpgrade, now: now)
        }
        admitClient(c, id: id, answer: WebSocketHandshake.acceptResponse(key: key).serialized, now: now)
    }

    /// A client for `id`, whichever way it came in: admitted under the session limits, then
    /// paired with the agent's offered connection at once, or left waiting for its next one.
    /// `answer` is written to the client when it is paired, before the agent's bytes.
    func admitClient(_ c: Connection, id: String, answer: [UInt8], now: Double) {
        guard workers.activeCount < config.maxSessions else {
            return refuse(c, 503, "server is at its session limit \(Limit.maxSessions.tag(config.maxSessions))", limit: .maxSessions, now: now)
        }
        guard workers.perID.admits(id, waiting: registry.waitingCount(id), limit: config.maxSessionsPerID) else {
            return refuse(c, 503, "ID \(id) is at its session limit, try again when one of its sessions has ended \(Limit.maxSessionsPerID.tag(config.maxSessionsPerID))", limit: .maxSessionsPerID, now: now)
        }
        switch registry.connectClient(id: id, connection: c.number, now: now) {
        case .unknown:
            refuse(c, 404, "no agent is registered under ID \(id)", limit: .noSuchAgent, now: now)
        case .waiting:
            c.state = .waitingClient(id: id, answer: answer)
            log.write("\(c.peer) client id=\(LogText.escaped(id)) waits for the agent's next connection")
        case .paired(let agentNumber):
            guard let agent = connection(agentNumber) else { return }
            // An offer silent past a ping and its answer is most likely cut off (a network
            // outage whose end the agent has not seen yet): pairing would hand the client
            // to nobody. Drop it; the client gets the next offer or waits for a fresh one.
            if now - agent.lastHeard > config.pingInterval + 2 {
                metrics.refuse(.deadPeerTimeout)
                log.write("\(agent.peer) agent id=\(LogText.escaped(id)) silent for \(Int(now - agent.lastHeard))s, missed its ping: dropped instead of paired (limit: dead_peer_timeout)")
                drop(agent, now: now)
                return admitClient(c, id: id, answer: answer, now: now)
            }
            pair(client: c, answer: answer, agent: agent, id: id, now: now)
        }
    }

    /// The agent's 101, carrying the server's user and password hash when there is one,
    /// and the jump host's port and key when this server is one.
    func agentUpgrade(key: String) -> [UInt8] {
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

    /// Answers the client (its 101) and hands both sockets, with what was read past their
    /// heads, to a splice worker. The master forgets them.
    func pair(client: Connection, answer: [UInt8], agent: Connection, id: String, now: Double) {
        guard sendNow(client, answer) else {
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
            sessionsView.started(number: Int(pid), id: id, client: client.peer, path: client.path.rawValue, now: Clock.now())
            log.write("\(client.peer) client id=\(LogText.escaped(id)) paired with agent \(agent.peer), session worker pid \(pid), path \(client.path.rawValue)")
        case .failure(let error):
            log.write("\(client.peer) client id=\(LogText.escaped(id)) pairing failed: \(error)")
        }
        try? client.fd.close()
        try? agent.fd.close()
    }

    /// An offered connection's frames: pings answered, a close withdraws the offer; a broken
    /// frame, or data before a client is paired, ends it (bad_frame).
    func readAgentFrames(_ c: Connection, now: Double) {
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
            metrics.refuse(.badFrame)
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
            case .control(.pong, let payload):
                // An unsolicited pong may carry the agent's state line (docs/protocol.md).
                if let line = AgentStateLine(parsing: payload) { sessionsView.state(id: id, line) }
            case .control(.close, _):
                _ = sendNow(c, WebSocketFrameHeader.frame(.close, payload: WebSocketFrameHeader.closePayload(code: WebSocketCloseCode.normal, reason: "")))
                log.write("\(c.peer) agent id=\(LogText.escaped(id)) withdrew its connection")
                return drop(c, now: now)
            case .control:
                break
            case .data:
                metrics.refuse(.badFrame)
                log.write("\(c.peer) agent id=\(LogText.escaped(id)) sent data before a client was paired")
                return drop(c, now: now)
            }
        }
    }
}
