import CShims
import ConvergeClient
import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// The agent's main process: keeps one connection offered under its ID, forks a session
/// process for each client the server pairs with it, and retries with backoff when the
/// server cannot be reached. Single-threaded, so forking is safe. Its loop wakes at least
/// five times a second to read the sessions' control sockets, its signalfd and `.hold`,
/// and lets `Lifecycle` decide when to warn and when to end.
public final class Agent {
    let options: AgentOptions
    let hostKey: SSHHostKey
    /// The ID registered under: `options.id`, or a fresh one if another agent holds that.
    private(set) var id: String
    var registration: AgentRegistration
    var clash: IDClash
    var log: Log { options.log }

    /// A session process still running, with the main's end of its control socket.
    struct Session {
        let pid: pid_t
        let control: ControlSocket
        let client: String
        var user: String?
        var loginTime = 0.0
    }
    var sessions: [pid_t: Session] = [:]
    var loginSlots: LoginSlots
    var penalties = SourcePenalties()
    var serverUser: AgentRegistration.ServerUser? = nil
    var announced = false
    /// How to connect, once registered (printed again for `agent --wait`).
    var banner: AgentBanner?
    /// Called once, when the agent is registered and has said how to connect (`--detach`).
    public var onRegistered: (() -> Void)?
    var lifecycle: Lifecycle
    var notices: LifecycleNotices
    var signals: SignalFD?
    var sentExpiry: Double?
    /// The keys file, watched for edits (see `AuthorizedKeysWatch`).
    var keysFile: AuthorizedKeysWatch?

    public init(options: AgentOptions, hostKey: SSHHostKey) {
        self.options = options
        self.hostKey = hostKey
        self.id = options.id
        self.clash = IDClash(wanted: options.id)
        let started = Clock.now()
        lifecycle = Lifecycle(settings: .init(waitTimeout: options.waitTimeout, holdPeriod: options.holdPeriod,
                                              warnBefore: options.warnBefore), started: started)
        var facts = AgentDescription.facts(waitUntil: started + options.waitTimeout)
        // The build's version, which the server's version rule reads (docs/protocol.md).
        if let version = options.version { facts.version = "converge-agent \(version)" }
        self.registration = AgentRegistration(server: options.server, id: options.id, tls: options.tls, token: options.registrationToken,
                                              facts: facts)
        notices = LifecycleNotices(id: options.id, holdPath: HoldFile.path(), holdPeriod: options.holdPeriod, agentPID: getpid())
        loginSlots = LoginSlots(limit: options.maxUnauthenticated)
        keysFile = options.keysFile
    }

    /// The keys a new session accepts: the file's as it is now, and those fetched at start.
    private func currentKeys() -> [AuthorizedKey] {
        guard keysFile != nil else { return options.authorizedKeys }
        keysFile?.refresh(log: log)
        return (keysFile?.keys ?? []) + options.fetchedKeys
    }

    /// Runs until the agent should exit; the returned value says why and with what status.
    public func run() -> AgentExit {
        do { signals = try SignalFD(AgentSignals.handled) } catch { log.write("cannot watch signals (\(error))") }
        // What a killed session process leaves running comes to us, not to init: see endOrphans.
        if cshim_set_child_subreaper() != 0 { log.write("cannot become a subreaper: \(Errno(rawValue: errno))") }
        var backoff = RetryBackoff()
        while true {
            if let exit = tick() { return exit }
            let connection: WebSocketConnection
            do {
                connection = try registration.offer()
            } catch {
                if error.status == 409 && !announced, let fresh = clash.freshID(randomBytes: AgentRegistration.randomBytes) {
                    takeID(fresh)
                    continue
                }
                if let fatal = fatalRefusal(error) { return endSessions(fatal, notice: notices.closing("the agent stopped")) }
                guard let delay = backoff.nextDelay(now: Clock.monotonic(), budget: options.retryBudget) else {
                    let exit = AgentExit.failure("the server at \(options.server) stayed unreachable for \(Int(options.retryBudget))s: \(error.description)")
                    return endSessions(exit, notice: notices.closing("the agent lost its server"))
                }
                log.write("cannot reach the server (\(error.description)); retrying in \(DurationText.of(delay, tenths: true))")
                if let exit = pause(delay) { return exit }
                continue
            }
            backoff.reset()
            connection.pingInterval = options.keepalive
            connection.idleTimeout = options.deadPeerTimeout
            if let exit = noteRegistration(connection) { return exit }
            if let exit = waitForClient(connection) { return exit }
        }
    }

    /// Registers under `fresh` from now on: the ID asked for is held by another agent.
    private func takeID(_ fresh: String) {
        log.write(IDClash.notice(wanted: options.id, taken: fresh))
        id = fresh
        notices.id = fresh
        registration = AgentRegistration(server: options.server, id: fresh, tls: options.tls, token: options.registrationToken,
                                         facts: registration.facts)
    }

    /// 409 (ID taken) and 400 (refused request) will not get better by retrying.
    private func fatalRefusal(_ error: DialError) -> AgentExit? {
        // An untrusted certificate does not fix itself: say so now, not after 5 minutes.
        if error.kind == .tls && error.description.contains("certificate") {
            return .failure("\(error.description) (give the server's CA with --cacert FILE)")
        }
        switch error.status {
        case 409: return .failure("the server refused ID \(id): \(error.description)")
        // This server cannot serve this agent's version: its message says where to get one it can.
        case 426: return .failure("the server refused this agent's version: \(error.description)")
        case 400, 401, 403: return .configuration("the server refused this agent: \(error.description)")
        default: return nil
        }
    }

    /// After each successful offer: learn the server's user and, the first time, check
    /// that somebody can log in and print how to connect.
    private func noteRegistration(_ connection: WebSocketConnection) -> AgentExit? {
        serverUser = AgentRegistration.serverUser(of: connection, log: log)
        if announced { return nil }
        announced = true
        if options.authorizedKeys.isEmpty && options.agentPassword == nil && serverUser == nil {
            connection.close(code: WebSocketCloseCode.goingAway, reason: "agent has no way to log in")
            return .configuration(Agent.noAuthHelp)
        }
        let banner = AgentBanner(id: id, wantedID: id == options.id ? nil : options.id, server: options.server, hostKey: hostKey, serverUser: serverUser?.name,
                                 keyCount: options.authorizedKeys.count, hasAgentPassword: options.agentPassword != nil,
                                 jump: AgentRegistration.jumpHost(of: connection))
        self.banner = banner
        for line in banner.lines { log.write(line) }
        StepSummary.append(banner, log: log)
        defer { onRegistered?() }
        if lifecycle.firstLogin == nil {
            let until = lifecycle.started + options.waitTimeout
            log.write("waiting since \(Clock.isoTimestamp(lifecycle.started)) for a login: up to \(DurationText.of(options.waitTimeout)), until \(Clock.isoTimestamp(until))")
            log.write("after the first login: the agent exits when that client has logged out and nobody else is logged in; `touch .hold` here keeps it until expiry")
            log.write("expiry: \(DurationText.of(options.holdPeriod)) after the first login, the latest activity (what a person types, sends by sftp or forwards) or .hold's last change, whichever is latest")
        }
        return nil
    }

    /// Waits on the offered connection until a client is paired with it, then hands it
    /// to a session process. Returns nil to offer a new connection.
    private func waitForClient(_ connection: WebSocketConnection) -> AgentExit? {
        // What the server was told on this connection (a new server knows nothing yet).
        var toldState = AgentStateLine(loggedIn: 0, expires: nil)
        while true {
            if let exit = tick() {
                connection.close(code: WebSocketCloseCode.goingAway, reason: "agent exiting")
                return exit
            }
            let wait: AgentRegistration.Wait
            do {
                let state = AgentStateLine(loggedIn: lifecycle.loggedIn.count, expires: lifecycle.expiry)
                // Only on a connection known to be alive: a state sent into a silent link
                // arrives when it returns and makes the server keep an offer this agent is
                // about to give up, and the next client is paired with nobody.
                if state != toldState && connection.heardRecently {
                    try AgentRegistration.sendState(state, over: connection)
                    toldState = state
                }
                wait = try AgentRegistration.waitForSession(connection, until: Clock.monotonic() + 0.2)
            } catch {
                log.write("lost the offered connection to the server (\(error.description)); registering again")
                connection.stream.close()
                return nil
            }
            guard case .session(let client) = wait else { continue }
            startSession(connection, client: client)
            connection.stream.close()
            return nil
        }
    }

    private func startSession(_ connection: WebSocketConnection, client: String) {
        let mine: ControlSocket, theirs: ControlSocket
        do { (mine, theirs) = try ControlSocket.pair() } catch {
            log.write("cannot start a session: \(error)")
            return
        }
        // At the limit the client still gets a session process, which refuses it with an
        // SSH disconnect message right after the key exchange: that is the one place
        // where every client (ssh through wsproxy, tcptows, websocat...) shows the user
        // why. Closing the WebSocket instead would reach only wsproxy's stderr, and not
        // offering connections would look like a dead agent (a 503 after 10 s, then 404).
        // Refusing processes are few and short: the server's max_sessions_per_id and
        // the key exchange timeout bound them.
        let refused = loginSlots.isFull
        var configuration = sessionConfiguration()
        configuration.client = client
        configuration.priorGuesses = penalties.guesses(from: SourcePenalties.address(of: client), now: Clock.monotonic())
        if refused {
            configuration.refusal = "the agent is busy with other logins, try again in a moment (limit: max_unauthenticated \(options.maxUnauthenticated))"
        }
        let mainOnly = sessions.values.map { $0.control.fd } + [mine.fd] + (signals.map { [$0.descriptor] } ?? [])
        let link = AgentSessionProcess.Link(control: theirs, closeInChild: mainOnly, notices: notices, firstLogin: lifecycle.firstLogin)
        let pid = AgentSessionProcess.start(connection, configuration: configuration, relayOptions: options.relayOptions,
                                            client: client, link: link)
        theirs.close()
        guard pid > 0 else {
            mine.close()
            log.write("cannot start a session process: \(Errno(rawValue: errno))")
            return
        }
        sessions[pid] = Session(pid: pid, control: mine, client: client)
        if refused {
            log.write("client \(LogText.escaped(client)) refused: \(loginSlots.waiting.count) connected clients have not logged in yet (limit: max_unauthenticated \(options.maxUnauthenticated)); session process \(pid) tells it so")
            return
        }
        loginSlots.started(pid)
        if let expiry = lifecycle.expiry { mine.send(.expiry(expiry)) }
        log.write("client \(LogText.escaped(client)) connected (session process \(pid)); not logged in yet")
    }

    private func sessionConfiguration() -> SSHServerConfiguration {
        let user = serverUser.map { SSHAuthPolicy.ServerUser(name: $0.name, passwordHash: $0.passwordHash) }
        let policy = SSHAuthPolicy(serverUser: user, authorizedKeys: currentKeys(), agentPassword: options.agentPassword,
                                   utcOffset: AgentSetup.localUTCOffset())
        var configuration = SSHServerConfiguration(hostKey: hostKey, auth: policy, environment: .current(shellOverride: options.shell))
        configuration.permitUserEnvironment = options.permitUserEnvironment
        configuration.loginGraceSeconds = options.loginGraceTime
        configuration.maxAuthFailures = options.maxAuthTries
        return configuration
    }

    // MARK: lifecycle

    /// One turn of housekeeping: control messages, ended sessions, signals, `.hold`,
    /// warnings and the decision to end (after which the sessions are closed).
    private func tick() -> AgentExit? {
        for pid in Array(sessions.keys) { readControl(pid) }
        reapSessions()
        let received = signals?.read() ?? []
        if received.contains(AgentSignals.restartWaiting) { restartWaiting() }
        if let signal = received.first(where: { $0 != AgentSignals.restartWaiting }) {
            let name = "SIG\(SignalNames.name(of: signal))"
            log.write("got \(name): closing \(sessions.count) session\(sessions.count == 1 ? "" : "s")")
            return endSessions(.normal("exiting: stopped by \(name)"), notice: notices.closing("the agent was stopped (\(name))"))
        }
        keysFile?.refresh(log: log)
        let now = Clock.now()
        noteHold(lifecycle.hold(mtime: HoldFile.mtime(notices.holdPath)))
        if let expiry = lifecycle.expiry, expiry != sentExpiry {
            sentExpiry = expiry
            for session in sessions.values { session.control.send(.expiry(expiry)) }
        }
        let step = lifecycle.tick(now: now)
        if let left = step.warning, let expiry = lifecycle.expiry {
            log.write("warning \(lifecycle.loggedIn.count) client\(lifecycle.loggedIn.count == 1 ? "" : "s"): the session expires at \(Clock.isoTimestamp(expiry)) (in \(DurationText.of(left)))")
            let text = notices.warning(expiry: expiry, left: left)
            for session in sessions.values { session.control.send(.warn(text)) }
        }
        guard let end = step.end else { return nil }
        if case .nobodyLoggedIn = end, !announced {
            // Never registered: nobody could have logged in. That is a failure, not a quiet end.
            return endSessions(.failure("the server at \(options.server) could not be reached within --timeout \(DurationText.of(options.waitTimeout)), so nobody could log in"),
                               notice: notices.closing("the agent is exiting"))
        }
        let notice: String
        switch end {
        case .expired(let at): notice = notices.closing("the session expired at \(Lifecycle.utc(at))")
        default: notice = notices.closing("the agent is exiting: \(end)")
        }
        return endSessions(.normal("exiting: \(end)"), notice: notice)
    }

    /// `agent --wait` is waiting for us: the wait for a first login starts again if
    /// nobody has logged in, and the banner is printed again (the first is far up the log).
    private func restartWaiting() {
        if lifecycle.restartWaiting(now: Clock.now()) {
            log.write("agent --wait: nobody has logged in yet, so the wait starts again: up to \(DurationText.of(options.waitTimeout)), until \(Clock.isoTimestamp(lifecycle.started + options.waitTimeout))")
        } else {
            log.write("agent --wait: waiting for the agent to end (\(lifecycle.loggedIn.count) logged in)")
        }
        for line in banner?.lines ?? [] { log.write(line) }
    }

    private func noteHold(_ change: Lifecycle.HoldChange) {
        let expiry = lifecycle.expiry.map { "; the session now expires at \(Clock.isoTimestamp($0))" } ?? ""
        switch change {
        case .none: return
        case .appeared: log.write(".hold seen: the agent stays after logouts until expiry\(expiry)")
        case .touched: log.write(".hold touched\(expiry)")
        case .removed:
            let left = lifecycle.loggedIn.count
            log.write(".hold removed: the default is back (exit once the first client has left and nobody is logged in; \(left) logged in now)")
        }
    }

    private func readControl(_ pid: pid_t) {
        guard var session = sessions[pid] else { return }
        defer { sessions[pid] = session }
        while true {
            switch session.control.receive() {
            case .nothing, .closed: return
            case .message(.login(let at, let user, let method, let fingerprint)):
                loginSlots.loggedIn(pid)
                session.user = user
                session.loginTime = min(at, Clock.now())
                let first = lifecycle.firstLogin == nil
                lifecycle.loggedIn(Int(pid), now: session.loginTime)
                let key = fingerprint.map { " key \(LogText.escaped($0))" } ?? ""
                let expiry = lifecycle.expiry.map { "; the session expires at \(Clock.isoTimestamp($0))" } ?? ""
                log.write("client logged in: user \"\(LogText.escaped(user))\" method \(LogText.escaped(method))\(key) (session process \(pid)\(first ? ", the first login" : ""))\(expiry)")
            case .message(.logout):
                noteLogout(&session)
            case .message(.active(let at)):
                if session.user != nil { lifecycle.activity(at: min(at, Clock.now())) }
            case .message(.guessFailed):
                penalties.recordGuess(from: SourcePenalties.address(of: session.client), now: Clock.monotonic())
            case .message:
                continue
            }
        }
    }

    private func noteLogout(_ session: inout Session) {
        guard let user = session.user else { return }
        session.user = nil
        lifecycle.loggedOut(Int(session.pid))
        let left = lifecycle.loggedIn.count
        log.write("client left: user \"\(LogText.escaped(user))\" after \(DurationText.of(Clock.now() - session.loginTime)) (session process \(session.pid)); \(left) still logged in\(lifecycle.holding ? ", .hold present" : "")")
    }

    private func reapSessions() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            guard sessions[pid] != nil else { continue }
            readControl(pid)
            loginSlots.ended(pid)
            if var session = sessions.removeValue(forKey: pid) {
                noteLogout(&session)
                session.control.close()
                log.write("session process \(pid) ended")
                endOrphans()
            }
        }
    }

    /// Our children that are not session processes were left by one that died without
    /// hanging up its commands (killed with SIGKILL, say): as a subreaper we inherited
    /// them. Each is killed with its process group (a command's own children too);
    /// reapSessions collects them.
    private func endOrphans() {
        for pid in ProcessTable.children(of: getpid()) where sessions[pid] == nil {
            let group = getpgid(pid)
            let ended = group > 1 && group != getpgrp() ? kill(-group, SIGKILL) : kill(pid, SIGKILL)
            if ended == 0 { log.write("ended process \(pid) (group \(group)), left behind by a session process") }
        }
    }

    /// Tells every session to close with `notice`, waits for them (then SIGTERM, then
    /// SIGKILL), and returns `exit`.
    private func endSessions(_ exit: AgentExit, notice: String) -> AgentExit {
        guard !sessions.isEmpty else { return exit }
        for session in sessions.values { session.control.send(.close(notice)) }
        waitForSessions(seconds: 6)
        for pid in sessions.keys { kill(pid, SIGTERM) }
        waitForSessions(seconds: 3)
        for pid in sessions.keys { kill(pid, SIGKILL) }
        waitForSessions(seconds: 1)
        return exit
    }

    private func waitForSessions(seconds: Double) {
        let until = Clock.monotonic() + seconds
        while !sessions.isEmpty && Clock.monotonic() < until {
            for pid in Array(sessions.keys) { readControl(pid) }
            reapSessions()
            usleep(50_000)
        }
    }

    /// Sleeps in short steps, keeping the lifecycle going meanwhile.
    private func pause(_ seconds: Double) -> AgentExit? {
        let until = Clock.monotonic() + seconds
        while Clock.monotonic() < until {
            if let exit = tick() { return exit }
            usleep(UInt32(min(0.2, max(0, until - Clock.monotonic())) * 1_000_000))
        }
        return nil
    }

    static let noAuthHelp = """
        no way to log in is set up, so the agent will not start. Use one or more of:
          1. the server's user: start converge with --user NAME and CONVERGE_PASSWORD in its environment;
          2. public keys: put OpenSSH public keys in .authorized_keys in this directory, or pass --authorized-keys FILE,
             --authorized-keys-url URL, --github-user NAME or --gitlab-user NAME;
          3. a password for this agent: set the environment variable CONVERGE_PASSWORD (e.g. from a CI secret).
        """
}

/// Exponential backoff for re-registering: 0.5 s doubling to 8 s, so that a server that is
/// back is found within 8 s however long it was away; each delay is shortened by up to a
/// quarter at random, so that the agents of a restarted server do not all come back in the
/// same instant. Given up after a budget of continuous failure.
struct RetryBackoff {
    static let longest = 8.0
    private var delay = 0.0
    private var failingSince: Double? = nil
    /// A number in 0...1 for the random shortening (tests fix it).
    var random: () -> Double = { Double(arc4random_uniform(1001)) / 1000 }

    mutating func reset() {
        delay = 0
        failingSince = nil
    }

    /// The next delay, or nil once the budget of continuous failure is spent.
    mutating func nextDelay(now: Double, budget: Double) -> Double? {
        let since = failingSince ?? now
        failingSince = since
        if now - since >= budget { return nil }
        delay = delay == 0 ? 0.5 : min(delay * 2, RetryBackoff.longest)
        return min(delay * (1 - random() / 4), max(0.1, budget - (now - since)))
    }
}
