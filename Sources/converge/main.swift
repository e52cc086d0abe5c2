import ArgumentParser
import CShims
import ConvergeCommandLine
import ConvergeJump
import ConvergeNet
import ConvergeServer
import ConvergeWire
import Glibc

/// `converge`: the rendezvous server. Flags map one to one onto `ServerConfig`.
struct Converge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "converge",
        abstract: "The Converge rendezvous server: pairs clients with agents in CI jobs and relays their SSH bytes.",
        discussion: """
        With --user, the password is read from the environment variable CONVERGE_PASSWORD \
        (never from the command line); agents receive the user name and a salted PBKDF2 hash of it. \
        Use a long random password: anyone who can register an agent can read the hash.
        Limits are named in the log line and in /metrics when they refuse a connection.
        """)

    @Option(addressHelp: "Address to listen on.")
    var listen = HostPort(host: "0.0.0.0", port: 8000)

    @Option(help: "Directory holding agent, wsproxy and tcptows for /docs/NAME (default: the directory of this program).")
    var downloads: String?

    @Option(help: "The server's user, handed to agents (password from CONVERGE_PASSWORD).")
    var user: String?

    @Option(name: .customLong("agent-token-file"), help: ArgumentHelp("Register only agents presenting a token from this file (one per line; agents set CONVERGE_AGENT_TOKEN).", valueName: "file"))
    var agentTokenFile: String?

    @Option(name: .customLong("admin-token-file"), help: ArgumentHelp("Enable the operator's view (/sessions, /api/sessions) for HTTP Basic logins whose password is a token from this file (one per line, at least 16 characters); --user and its password work too.", valueName: "file"))
    var adminTokenFile: String?

    @Option(help: "Limit \(Limit.maxSessions): sessions relayed at once.")
    var maxSessions = 1000

    @Option(name: .customLong("max-sessions-per-id"), help: "Limit \(Limit.maxSessionsPerID): sessions relayed at once for one ID (clients beyond it get 503).")
    var maxSessionsPerID = 32

    @Option(help: "Limit \(Limit.maxWaitingAgents): offered agent connections in total.")
    var maxWaitingAgents = 20_000

    @Option(help: "Limit \(Limit.maxConnectionsPerAddress): connections from one address being read or waiting.")
    var maxConnectionsPerAddress = 256

    @Option(name: .customLong("trusted-proxy"), help: ArgumentHelp("A proxy (IPv4/IPv6 address or ADDRESS/PREFIX) whose X-Forwarded-For names the client, for the per-address limit and the logs (repeatable; without it the header is ignored).", valueName: "addr"))
    var trustedProxies: [String] = []

    @Option(help: "Limit \(Limit.maxHeadBytes): size of a request head.")
    var maxHeadBytes = 8192

    @Option(help: "Limit \(Limit.headTimeout): time to send a request head (slowloris).")
    var headTimeout = TimeSpan(seconds: 10)

    @Option(help: "Ping waiting agents this often (proxies drop quiet connections); sessions get TCP keepalive after this much quiet.")
    var pingInterval = TimeSpan(seconds: 20)

    @Option(help: "Limit \(Limit.deadPeerTimeout): a waiting agent silent this long is dropped; a session whose peer's TCP connection is dead this long ends.")
    var deadPeerTimeout = TimeSpan(seconds: 60)

    @Option(help: "How long a client waits for its agent's next connection before a 503.")
    var clientWait = TimeSpan(seconds: 10)

    @Option(help: "On SIGTERM, how long running sessions may finish before they are ended.")
    var drainTimeout = TimeSpan(seconds: 30)

    @Option(name: .customLong("ssh-listen"), addressHelp: "Also serve the SSH jump host here: `ssh -J HOST:PORT USER@ID` reaches agent ID with nothing but OpenSSH.")
    var sshListen: HostPort?

    @Option(name: .customLong("ssh-host-key"), help: ArgumentHelp("The jump host's private key; created (Ed25519, mode 0600) when missing, kept across restarts so people can pin it.", valueName: "file"))
    var sshHostKey = "ssh_host_ed25519_key"

    @Option(name: .customLong("ssh-public-port"), help: ArgumentHelp("The jump port people connect to, when NAT or a firewall maps it to --ssh-listen's (shown on the docs page and to agents).", valueName: "port"))
    var sshPublicPort: Int?

    @Option(name: .customLong("jump-upstream"), help: ArgumentHelp("Where jump connections open their client legs (default: this server). Behind a cluster, its front URL, so the agent's backend is found.", valueName: "url"))
    var jumpUpstream: String?

    @Option(name: .customLong("jump-login-grace-time"), help: "Limit jump_login_grace_time: a jump connection must finish its key exchange and login within this.")
    var jumpLoginGraceTime = TimeSpan(seconds: 30)

    @Option(name: .customLong("max-jump-startups-per-address"), help: "Limit max_jump_startups_per_address: jump connections from one address not logged in yet.")
    var maxJumpStartupsPerAddress = 10

    @Option(name: .customLong("max-jump-channels"), help: "Limit max_jump_channels: channels (agent sessions) open at once on one jump connection.")
    var maxJumpChannels = 10

    func validate() throws {
        if let user, user.isEmpty || user.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F || $0 == 0x3A }) {
            throw ValidationError("--user: a user name is printable ASCII without spaces or ':'")
        }
        if user != nil && (getenv("CONVERGE_PASSWORD").map { String(cString: $0) } ?? "").isEmpty {
            throw ValidationError("--user needs a password in the environment variable CONVERGE_PASSWORD")
        }
        for (name, value) in [("--max-sessions", maxSessions), ("--max-sessions-per-id", maxSessionsPerID), ("--max-waiting-agents", maxWaitingAgents),
                              ("--max-connections-per-address", maxConnectionsPerAddress)] where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        if maxHeadBytes < 512 { throw ValidationError("--max-head-bytes must be at least 512") }
        for (name, value) in [("--max-jump-startups-per-address", maxJumpStartupsPerAddress), ("--max-jump-channels", maxJumpChannels)] where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        if let sshPublicPort, !(1...65535).contains(sshPublicPort) { throw ValidationError("--ssh-public-port must be from 1 to 65535") }
        _ = try upstream()
        _ = try proxies()
    }

    /// `--jump-upstream`, parsed (http(s):// is taken as ws(s)://).
    func upstream() throws -> ServerURL? {
        guard let jumpUpstream else { return nil }
        do { return try ServerURL(parsing: jumpUpstream, schemes: ["ws", "wss", "http", "https"]) } catch {
            throw ValidationError("--jump-upstream: \(error.description)")
        }
    }

    /// `--trusted-proxy` values, parsed.
    func proxies() throws -> TrustedProxies {
        var networks: [IPNetwork] = []
        for text in trustedProxies {
            do { networks.append(try IPNetwork(parsing: text)) } catch {
                throw ValidationError("--trusted-proxy: \(error.description)")
            }
        }
        return TrustedProxies(networks)
    }

    func run() throws {
        var config = ServerConfig()
        config.listenHost = listen.host
        config.listenPort = listen.port
        config.downloadsDirectory = downloads ?? Converge.programDirectory()
        if let user {
            config.user = user
            config.passwordHash = PasswordHash(password: String(cString: getenv("CONVERGE_PASSWORD")))
            config.admin.user = AdminAccess.User(name: user, password: String(cString: getenv("CONVERGE_PASSWORD")))
        }
        if let agentTokenFile { config.agentTokens = Converge.tokens(flag: "--agent-token-file", path: agentTokenFile) }
        if let adminTokenFile { config.admin.tokens = Converge.tokens(flag: "--admin-token-file", path: adminTokenFile) }
        config.maxSessions = maxSessions
        config.maxSessionsPerID = maxSessionsPerID
        config.trustedProxies = try proxies()
        config.registry.maxOffers = maxWaitingAgents
        config.registry.clientWait = Double(clientWait.seconds)
        config.maxConnectionsPerAddress = maxConnectionsPerAddress
        config.maxHeadBytes = maxHeadBytes
        config.headTimeout = Double(headTimeout.seconds)
        config.pingInterval = Double(pingInterval.seconds)
        config.deadPeerTimeout = Double(deadPeerTimeout.seconds)
        config.drainTimeout = Double(drainTimeout.seconds)
        if let sshListen {
            var jump = JumpOptions()
            jump.listenHost = sshListen.host
            jump.listenPort = sshListen.port
            jump.publicPort = sshPublicPort
            jump.hostKeyPath = sshHostKey
            jump.upstream = try upstream()
            jump.loginGraceTime = Double(jumpLoginGraceTime.seconds)
            jump.maxStartupsPerAddress = maxJumpStartupsPerAddress
            jump.maxChannels = maxJumpChannels
            config.jump = jump
        }
        throw ExitCode(try Master(config: config).run())
    }

    /// A token file's tokens; an unreadable or malformed file is a configuration error
    /// (exit 2, like any other bad flag).
    static func tokens(flag: String, path: String) -> AgentTokens {
        guard let text = TextFile.read(path) else {
            CommandMain.fail(name: "converge", "\(flag) \(path): \(String(cString: strerror(errno)))", status: CommandMain.usageExitCode)
        }
        do { return try AgentTokens(parsing: text) } catch {
            CommandMain.fail(name: "converge", "\(flag) \(path): \(error.description)", status: CommandMain.usageExitCode)
        }
    }

    /// The directory this program was started from (/proc/self/exe), where `make dist` puts all four.
    static func programDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "." }
        let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    }
}

cshim_proctitle_init(CommandLine.argc, CommandLine.unsafeArgv)
CommandMain.run(Converge.self)
