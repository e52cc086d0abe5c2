import ConvergeClient
import ConvergeNet
import ConvergeWire
import Glibc

/// The agent's main process: keeps one connection offered under its ID, forks a session
/// process for each client the server pairs with it, and retries with backoff when the
/// server cannot be reached. Single-threaded, so forking is safe.
public final class Agent {
    let options: AgentOptions
    let hostKey: SSHHostKey
    let registration: AgentRegistration
    var log: Log { options.log }
    /// Session processes still running.
    var sessions: Set<pid_t> = []
    var serverUser: AgentRegistration.ServerUser? = nil
    var announced = false
    var clientsSeen = 0
    let started = Clock.monotonic()

    public init(options: AgentOptions, hostKey: SSHHostKey) {
        self.options = options
        self.hostKey = hostKey
        self.registration = AgentRegistration(server: options.server, id: options.id, tls: options.tls)
    }

    /// Runs until the agent should exit; the returned value says why and with what status.
    public func run() -> AgentExit {
        var backoff = RetryBackoff()
        while true {
            if let exit = checkWaitTimeout() { return exit }
            let connection: WebSocketConnection
            do {
                connection = try registration.offer()
            } catch {
                if let fatal = fatalRefusal(error) { return fatal }
                guard let delay = backoff.nextDelay(now: Clock.monotonic(), budget: options.retryBudget) else {
                    return .failure("the server at \(options.server) stayed unreachable for \(Int(options.retryBudget))s: \(error.description)")
                }
                log.write("cannot reach the server (\(error.description)); retrying in \(Self.seconds(delay))")
                pause(delay)
                continue
            }
            backoff.reset()
            if let exit = noteRegistration(connection) { return exit }
            if let exit = waitForClient(connection) { return exit }
        }
    }

    /// 409 (ID taken) and 400 (refused request) will not get better by retrying.
    private func fatalRefusal(_ error: DialError) -> AgentExit? {
        switch error.status {
        case 409: return .failure("the server refused ID \(options.id): \(error.description)")
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
        let banner = AgentBanner(id: options.id, server: options.server, hostKey: hostKey, serverUser: serverUser?.name,
                                 keyCount: options.authorizedKeys.count, hasAgentPassword: options.agentPassword != nil)
        for line in banner.lines { log.write(line) }
        log.write("waiting for a client (up to \(Self.seconds(options.waitTimeout)) for the first login)")
        return nil
    }

    /// Waits on the offered connection until a client is paired with it, then hands it
    /// to a session process. Returns nil to offer a new connection.
    private func waitForClient(_ connection: WebSocketConnection) -> AgentExit? {
        while true {
            reapSessions()
            if let exit = checkWaitTimeout() {
                connection.close(code: WebSocketCloseCode.goingAway, reason: "agent exiting")
                return exit
            }
            let wait: AgentRegistration.Wait
            do {
                wait = try AgentRegistration.waitForSession(connection, until: Clock.monotonic() + 1)
            } catch {
                log.write("lost the offered connection to the server (\(error.description)); registering again")
                connection.stream.close()
                return nil
            }
            guard case .session(let client) = wait else { continue }
            clientsSeen += 1
            let pid = AgentSessionProcess.start(connection, configuration: sessionConfiguration(), client: client)
            connection.stream.close()
            if pid > 0 {
                sessions.insert(pid)
                log.write("client \(LogText.escaped(client)) connected (session process \(pid))")
            } else {
                log.write("cannot start a session process: \(String(cString: strerror(errno)))")
            }
            return nil
        }
    }

    private func sessionConfiguration() -> SSHServerConfiguration {
        let user = serverUser.map { SSHAuthPolicy.ServerUser(name: $0.name, passwordHash: $0.passwordHash) }
        let policy = SSHAuthPolicy(serverUser: user, authorizedKeys: options.authorizedKeys, agentPassword: options.agentPassword)
        return SSHServerConfiguration(hostKey: hostKey, auth: policy, environment: .current(shellOverride: options.shell))
    }

    /// Nobody came within `--timeout`: a normal end (the CI job goes on).
    private func checkWaitTimeout() -> AgentExit? {
        guard clientsSeen == 0, sessions.isEmpty, Clock.monotonic() - started >= options.waitTimeout else { return nil }
        return .normal("nobody connected within \(Self.seconds(options.waitTimeout)); exiting")
    }

    private func reapSessions() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            if sessions.remove(pid) != nil { log.write("session process \(pid) ended") }
        }
    }

    /// Sleeps in short steps, reaping sessions meanwhile.
    private func pause(_ seconds: Double) {
        let until = Clock.monotonic() + seconds
        while Clock.monotonic() < until {
            reapSessions()
            usleep(UInt32(min(0.2, max(0, until - Clock.monotonic())) * 1_000_000))
        }
    }

    static func seconds(_ value: Double) -> String {
        value >= 120 && value.truncatingRemainder(dividingBy: 60) == 0 ? "\(Int(value / 60))m" : "\(Int(value.rounded()))s"
    }

    static let noAuthHelp = """
        no way to log in is set up, so the agent will not start. Use one or more of:
          1. the server's user: start converge with --user NAME and CONVERGE_PASSWORD in its environment;
          2. public keys: put OpenSSH public keys in .authorized_keys in this directory, or pass --authorized-keys FILE;
          3. a password for this agent: set the environment variable CONVERGE_PASSWORD (e.g. from a CI secret).
        """
}

/// Exponential backoff for re-registering: 0.5 s doubling to 30 s, given up after a budget
/// of continuous failure.
struct RetryBackoff {
    private var delay = 0.0
    private var failingSince: Double? = nil

    mutating func reset() {
        delay = 0
        failingSince = nil
    }

    /// The next delay, or nil once the budget of continuous failure is spent.
    mutating func nextDelay(now: Double, budget: Double) -> Double? {
        let since = failingSince ?? now
        failingSince = since
        if now - since >= budget { return nil }
        delay = delay == 0 ? 0.5 : min(delay * 2, 30)
        return min(delay, max(0.1, budget - (now - since)))
    }
}
