import ArgumentParser
import CShims
import ConvergeAgent
import ConvergeClient
import ConvergeCommandLine
import ConvergeNet
import ConvergeWire
import Glibc

/// `agent`: runs inside the CI job and gives clients of the Converge server an SSH server here.
struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Make this CI job reachable over SSH through a Converge server.",
        discussion: """
        URL is the server's base URL, ws://host[:port] or wss://host[:port]; the agent registers \
        under URL/agent/ID and prints how to connect.

        Logins (any of them, together or alone):
          - the server's user, if the server was started with --user;
          - public keys from .authorized_keys in this directory, or --authorized-keys FILE \
        (read again whenever it changes), and from --authorized-keys-url, --github-user and \
        --gitlab-user (fetched at start), with their options enforced as sshd does (from=, \
        command=, no-pty, restrict, permitopen=, expiry-time=...; a key with an option the \
        agent does not know is not used);
          - this agent's own password, from the environment variable CONVERGE_PASSWORD.

        A server started with --agent-token-file registers only agents whose environment \
        has one of its tokens in CONVERGE_AGENT_TOKEN (e.g. a CI secret).

        Lifecycle: if nobody logs in (authenticates) within --timeout, the agent exits. Once \
        somebody has logged in, it exits as soon as that first client has logged out and \
        nobody else is logged in. `touch .hold` in this directory keeps it running after \
        logouts; `rm .hold` restores the default at once. The session expires at the first \
        login, the latest activity (what a person types, sends by sftp or forwards into the \
        job; not output they only receive) or .hold's last modification, whichever is \
        latest, plus --hold (touching .hold again extends it too). Every shell is told the expiry at login and \
        warned --warn-before it; at expiry all sessions are closed and the agent exits. \
        SIGTERM or SIGINT closes all sessions (with a message) and exits.

        Limits, named in the log line of every refusal (`limit: NAME`): --max-unauthenticated \
        (clients connected but not logged in; more are told the agent is busy), \
        --login-grace-time (time to log in), --max-auth-tries (failed logins per connection), \
        --max-frame-bytes (the largest WebSocket frame a client may send). \
        Wrong passwords are answered after a delay that grows with the recent failures from \
        the same client address.

        In the background: `agent --detach ... URL` returns once the agent is registered (or \
        fails with its reason), so the job's next steps run while people can log in. A later \
        step in the same directory runs `agent --wait` (if nobody has logged in yet, --timeout \
        starts again then; prints how to connect again; exits with the agent's status) or \
        `agent --stop` (ends it now).

        Exit status: 0 for every normal end (nobody logged in within --timeout, the last \
        client logged out, expiry, SIGTERM/SIGINT); 1 for a runtime failure (the server \
        stayed unreachable past the retry budget of 5 minutes or --timeout, whichever \
        comes first, refused this agent's version, or refused its ID after it had registered, \
        or every fresh ID it tried: a first refusal of the ID asked for makes it register under \
        a fresh ID derived from it, and say so); 2 for usage or configuration errors.
        """,
        version: BuildInfo.current.versionLine)

    @Option(help: "Rendezvous ID, 1-64 of A-Z a-z 0-9 . _ - (default: a random one).")
    var id: String?

    @Option(name: .customLong("authorized-keys"), help: ArgumentHelp("OpenSSH public keys allowed to log in (default: .authorized_keys if present).", valueName: "file"))
    var authorizedKeys: String?

    @Option(name: .customLong("authorized-keys-url"), help: ArgumentHelp("Also accept the OpenSSH public keys at this https:// URL, fetched at start (repeatable; e.g. https://github.com/USER.keys).", valueName: "url"))
    var authorizedKeysURLs: [String] = []

    @Option(name: .customLong("host-key"), help: ArgumentHelp("The SSH host key (OpenSSH private key, mode 0600), kept across runs so people can pin it (default: CONVERGE_HOST_KEY, else a new key each run).", valueName: "file"))
    var hostKey: String?

    @Option(name: .customLong("github-user"), help: ArgumentHelp("Also accept NAME's public keys from GitHub (GITHUB/NAME.keys, fetched at start; repeatable).", valueName: "name"))
    var githubUsers: [String] = []

    @Option(name: .customLong("github-url"), help: ArgumentHelp("GitHub for --github-user, e.g. a GitHub Enterprise Server.", valueName: "url"))
    var githubURL = AccountKeys.gitHub

    @Option(name: .customLong("gitlab-user"), help: ArgumentHelp("Also accept NAME's public keys from GitLab (GITLAB/NAME.keys, fetched at start; repeatable).", valueName: "name"))
    var gitlabUsers: [String] = []

    @Option(name: .customLong("gitlab-url"), help: ArgumentHelp("GitLab for --gitlab-user, e.g. a self-hosted one ($CI_SERVER_URL in GitLab CI).", valueName: "url"))
    var gitlabURL = AccountKeys.gitLab

    @Flag(name: .customLong("permit-user-environment"), help: "Apply authorized keys' environment=\"NAME=value\" options to sessions (like sshd's PermitUserEnvironment; ignored without it).")
    var permitUserEnvironment = false

    @Option(help: ArgumentHelp("Shell for sessions (default: $SHELL, else /bin/bash, else /bin/sh).", valueName: "path"))
    var shell: String?

    @Option(help: "Exit (status 0) if nobody logs in within this time.")
    var timeout = TimeSpan(seconds: 600)

    @Option(help: "Session expiry: this long after the first login, the latest activity (typing, sftp, forwarded bytes) or .hold's last change, whichever is latest.")
    var hold = TimeSpan(seconds: 1800)

    @Option(name: .customLong("warn-before"), help: ArgumentHelp("Warn every shell this long before expiry (comma-separated).", valueName: "spans"))
    var warnBefore = "5m,1m"

    @Option(name: .customLong("max-unauthenticated"), help: "Limit max_unauthenticated: clients connected but not logged in yet; more are refused with a message (like OpenSSH's MaxStartups).")
    var maxUnauthenticated = 10

    @Option(name: .customLong("login-grace-time"), help: "Limit login_grace_time: a client not logged in this long after connecting is disconnected (like OpenSSH's LoginGraceTime).")
    var loginGraceTime = TimeSpan(seconds: 60)

    @Option(name: .customLong("max-auth-tries"), help: "Limit max_auth_tries: failed logins per connection before it is closed (like OpenSSH's MaxAuthTries); wrong passwords are also answered more slowly, per client address.")
    var maxAuthTries = 6

    @Option(name: .customLong("max-frame-bytes"), help: "Limit max_frame_bytes: the largest WebSocket frame a client may send; a larger one ends its connection (payloads stream through, so this bounds only absurd lengths).")
    var maxFrameBytes = Int(AgentOptions.defaultMaxFrameBytes)

    @Option(help: "Ping the server after this long without hearing from it (proxies drop quiet connections).")
    var keepalive = TimeSpan(seconds: 20)

    @Option(name: .customLong("dead-peer-timeout"), help: "The server silent this long is gone: the agent registers again, a session ends.")
    var deadPeerTimeout = TimeSpan(seconds: 60)

    @Flag(help: "Run in the background (its log in converge-agent.log here): exit 0 once registered, after printing how to connect; `agent --wait` and `agent --stop` find it later.")
    var detach = false

    @OptionGroup var server: ServerOptions<ServerBaseURL>

    func validate() throws {
        if let id, !RendezvousID.isValid(id) {
            throw ValidationError("--id: use 1 to 64 characters of A-Z a-z 0-9 . _ -")
        }
        if hold.seconds <= 0 { throw ValidationError("--hold: must be more than 0s") }
        if loginGraceTime.seconds <= 0 { throw ValidationError("--login-grace-time: must be more than 0s") }
        for (name, value) in [("--max-unauthenticated", maxUnauthenticated), ("--max-auth-tries", maxAuthTries)] where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        // wsproxy and tcptows send each read (up to the relay's buffer) as one frame.
        let largestOwnFrame = RelayOptions().bufferSize
        if maxFrameBytes < largestOwnFrame {
            throw ValidationError("--max-frame-bytes must be at least \(largestOwnFrame) (wsproxy sends frames that large)")
        }
        if keepalive.seconds <= 0 { throw ValidationError("--keepalive: must be more than 0s") }
        if deadPeerTimeout <= keepalive {
            throw ValidationError("--dead-peer-timeout: must be longer than --keepalive (\(keepalive))")
        }
        _ = try warnings()
    }

    /// `--authorized-keys-url`, `--github-user` and `--gitlab-user`, in that order.
    func keySources() throws(AgentExit) -> [AccountKeys.Source] {
        var sources = authorizedKeysURLs.map { AccountKeys.Source(url: $0, flag: "--authorized-keys-url") }
        for (users, base, flag) in [(githubUsers, githubURL, "--github-user"), (gitlabUsers, gitlabURL, "--gitlab-user")] {
            for name in users {
                do { sources.append(try AccountKeys.source(base: base, user: name, flag: flag)) } catch { throw .configuration(error.description) }
            }
        }
        return sources
    }

    /// `--warn-before 5m,1m` as seconds.
    func warnings() throws -> [Double] {
        var spans: [Double] = []
        for part in warnBefore.split(separator: ",") where !part.trimmingSpaces().isEmpty {
            do {
                spans.append(Double(try TimeSpan.parse(String(part.trimmingSpaces())).seconds))
            } catch {
                throw ValidationError("--warn-before: \(error.description)")
            }
        }
        return spans
    }

    func run() throws {
        Socket.ignoreBrokenPipeSignal()
        let log = Log.stdout
        let setup = try ClientSetup(url: server.url, caFile: server.cacert, insecure: server.insecure) { log.write("agent: \($0)") }
        let agentPassword = AgentSetup.takeAgentPassword()
        var options: AgentOptions
        let key: SSHHostKey
        do {
            key = try AgentSetup.takeHostKey(path: hostKey, log: log)
            let keysFile = try AgentSetup.authorizedKeys(path: authorizedKeys, log: log)
            let fetched = try AuthorizedKeysURL.fetch(sources: keySources(), tls: setup.tls, caFile: server.cacert, insecure: server.insecure, log: log)
            options = AgentOptions(server: setup.url, id: id ?? AgentSetup.randomID(), tls: setup.tls, authorizedKeys: keysFile.keys + fetched,
                                   agentPassword: agentPassword, shell: shell, waitTimeout: Double(timeout.seconds))
            options.keysFile = keysFile
            options.fetchedKeys = fetched
        } catch {
            CommandMain.fail(name: "agent", error.description, status: error.exitCode)
        }
        options.permitUserEnvironment = permitUserEnvironment
        AgentSetup.noteEnvironmentOptions(options.authorizedKeys, permitted: permitUserEnvironment, log: log)
        options.holdPeriod = Double(hold.seconds)
        options.warnBefore = try warnings()
        options.maxUnauthenticated = maxUnauthenticated
        options.loginGraceTime = Double(loginGraceTime.seconds)
        options.maxAuthTries = maxAuthTries
        options.maxFrameBytes = UInt64(maxFrameBytes)
        options.keepalive = Double(keepalive.seconds)
        options.deadPeerTimeout = Double(deadPeerTimeout.seconds)
        options.registrationToken = AgentSetup.takeRegistrationToken()
        options.version = BuildInfo.current.version
        if detach {
            Detached.start { ready in
                let agent = Agent(options: options, hostKey: key)
                agent.onRegistered = ready
                return agent.run()
            }
        }
        let outcome = Agent(options: options, hostKey: key).run()
        if outcome.exitCode == 0 {
            log.write(outcome.description)
            throw ExitCode.success
        }
        CommandMain.fail(name: "agent", outcome.description, status: outcome.exitCode)
    }
}

cshim_proctitle_init(CommandLine.argc, CommandLine.unsafeArgv)
if AgentBackgroundCommand.isWanted(CommandLine.arguments.dropFirst()) {
    CommandMain.run(AgentBackgroundCommand.self)
}
CommandMain.run(AgentCommand.self, helpWithoutArguments: true)
