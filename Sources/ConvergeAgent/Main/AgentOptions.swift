import ConvergeClient
import ConvergeNet
import ConvergeWire

/// What the agent was told on its command line and found in its environment.
public struct AgentOptions {
    /// The server base URL (`ws[s]://host[:port]`); the agent appends `/agent/ID`.
    public var server: ServerURL
    public var id: String
    public var tls: TLSContext?
    /// Keys from `--authorized-keys` or `.authorized_keys` (may be empty), and from URLs.
    public var authorizedKeys: [AuthorizedKey]
    /// The keys file, read again when it changes (its keys then replace those read at
    /// start); `fetchedKeys` (from `--authorized-keys-url`) stay as fetched at start.
    public var keysFile: AuthorizedKeysWatch? = nil
    public var fetchedKeys: [AuthorizedKey] = []
    /// `CONVERGE_PASSWORD` (already removed from the environment shells inherit).
    public var agentPassword: String?
    public var shell: String?
    /// `CONVERGE_AGENT_TOKEN` (taken out of the environment), for servers that require one.
    public var registrationToken: String? = nil
    /// This build's version, sent when registering (the server may refuse it).
    public var version: String? = nil
    /// Nobody logged in within this many seconds: exit 0.
    public var waitTimeout: Double
    /// Expiry: max(first login, .hold's mtime) + this many seconds.
    public var holdPeriod: Double = 1800
    /// Shells are warned this many seconds before expiry.
    public var warnBefore: [Double] = [300, 60]
    /// Give up (exit 1) after the server has been unreachable this long.
    public var retryBudget: Double = 300
    /// Named limits, as in OpenSSH: session processes whose client has not logged in yet
    /// (max_unauthenticated, like MaxStartups), the time a client has to log in
    /// (login_grace_time, LoginGraceTime) and failed logins per connection
    /// (max_auth_tries, MaxAuthTries).
    public var maxUnauthenticated = 10
    public var loginGraceTime: Double = 60
    public var maxAuthTries = AuthThrottle.defaultMaxFailures
    /// Named limit max_frame_bytes: the largest WebSocket frame a client may send.
    public var maxFrameBytes = AgentOptions.defaultMaxFrameBytes
    public static let defaultMaxFrameBytes: UInt64 = 1 << 24
    /// Ping the server after this many seconds without hearing from it, on the offered
    /// connection and in every session (nginx drops connections idle for 60 s).
    public var keepalive: Double = 20
    /// The server silent this long is gone (a cut network never says so itself): the
    /// offered connection is registered again, a session ends.
    public var deadPeerTimeout: Double = 60
    public var log = Log.stdout
    /// `--permit-user-environment`: authorized keys' `environment=` options are applied.
    public var permitUserEnvironment = false

    public init(server: ServerURL, id: String, tls: TLSContext?, authorizedKeys: [AuthorizedKey],
                agentPassword: String?, shell: String?, waitTimeout: Double) {
        self.server = server
        self.id = id
        self.tls = tls
        self.authorizedKeys = authorizedKeys
        self.agentPassword = agentPassword
        self.shell = shell
        self.waitTimeout = waitTimeout
    }
}

extension AgentOptions {
    /// `keepalive`, `deadPeerTimeout` and `maxFrameBytes` for a session's relay.
    var relayOptions: RelayOptions {
        var options = RelayOptions()
        options.pingInterval = keepalive
        options.idleTimeout = deadPeerTimeout
        options.maxFrameSize = maxFrameBytes
        return options
    }
}

/// Why the agent stopped; `exitCode` follows the contract (0 normal end, 1 runtime
/// failure, 2 usage or configuration).
public struct AgentExit: Error, CustomStringConvertible {
    public let exitCode: Int32
    public let description: String

    public static func normal(_ why: String) -> AgentExit { AgentExit(exitCode: 0, description: why) }
    public static func failure(_ why: String) -> AgentExit { AgentExit(exitCode: 1, description: why) }
    public static func configuration(_ why: String) -> AgentExit { AgentExit(exitCode: 2, description: why) }
}
