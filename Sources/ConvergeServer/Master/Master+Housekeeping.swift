import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// What the master does besides serving connections: the sweep (head and idle timeouts,
/// pings, clients that waited too long), workers' reports, signals, and the drain.
extension Master {
    /// Twice a second: head and idle timeouts, pings to offered agents, clients that
    /// waited too long for their agent, and accepting again after running out of descriptors.
    func sweep(now: Double) {
        lastSweep = now
        if let until = acceptPausedUntil, now >= until, drainDeadline == nil {
            acceptPausedUntil = nil
            for fd in listeners { loop.watch(fd) }
        }
        for c in Array(connections.values) {
            switch c.state {
            case .readingHead where now - c.accepted > config.headTimeout:
                refuse(c, 408, "request head not complete within \(Int(config.headTimeout))s \(Limit.headTimeout.tag())", limit: .headTimeout, now: now)
            case .offered(let id, let decoder, let lastPing):
                if now - c.lastHeard > config.deadPeerTimeout {
                    metrics.refuse(.deadPeerTimeout)
                    log.write("\(c.peer) agent id=\(LogText.escaped(id)) silent for \(Int(config.deadPeerTimeout))s, dropped \(Limit.deadPeerTimeout.tag())")
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
        for number in registry.expire(now: now) {
            guard let c = connection(number), case .waitingClient(let id, _) = c.state else { continue }
            c.state = .readingHead  // already removed from the registry
            refuse(c, 503, "the agent under ID \(id) did not offer a connection within \(Int(config.registry.clientWait))s", limit: .agentBusy, now: now)
        }
        noteForgottenIDs()
        publishSessions(now: now)
        workers.reap()
    }

    /// Keeps a spare worker forked and watched (its death, or its reports once it has a session).
    func prepareSpare() {
        workers.prepareSpare()
        if let fd = workers.spareControl { loop.watch(fd) }
    }

    /// A worker's byte counts go to /metrics; its last report ends the session in the log.
    func workerSpoke(_ fd: FileDescriptor, now: Double) {
        defer { if drainDeadline == nil { prepareSpare() } }
        for report in workers.read(control: fd) {
            metrics.bytesClientToAgent += report.clientToAgentDelta
            metrics.bytesAgentToClient += report.agentToClientDelta
            sessionsView.bytes(number: Int(report.pid), clientToAgent: report.clientToAgent, agentToClient: report.agentToClient)
            if let ended = report.ended {
                sessionsView.ended(number: Int(report.pid))
                log.write("\(ended.clientPeer) session id=\(LogText.escaped(ended.id)) ended after \(String(Int((now - ended.started) * 10) / 10))s: client→agent \(report.clientToAgent) bytes, agent→client \(report.agentToClient) bytes\(report.reason.map { " (\($0))" } ?? "")")
            }
        }
    }

    /// SIGCHLD reaps; the first SIGTERM/SIGINT starts the drain, a second one ends everything.
    func handleSignals(now: Double) {
        for signal in Signals.read(signals.rawValue) {
            switch signal {
            case SIGCHLD:
                workers.reap()
            case SIGTERM, SIGINT:
                guard drainDeadline == nil else {
                    log.write("converge: second signal, ending now")
                    workers.terminateAll()
                    jump?.terminateAll()
                    exit(0)
                }
                startDrain(now: now)
            default:
                break
            }
        }
    }

    /// Stop accepting, let go of waiting agents and clients, let sessions finish.
    func startDrain(now: Double) {
        log.write("converge: shutting down: no new connections, \(workers.activeCount) session(s) may run for up to \(Int(config.drainTimeout))s")
        drainDeadline = now + config.drainTimeout
        loop.unwatch(listener.fd)
        listener.close()
        if let jump {
            loop.unwatch(jump.listener.fd)
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

    /// Once draining: the exit status when every session has ended or the drain time is
    /// over (the rest are ended then); nil while the server goes on.
    func drainStatus(now: Double) -> Int32? {
        guard let deadline = drainDeadline else { return nil }
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
        return nil
    }
}
