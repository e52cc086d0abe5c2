import ConvergeJump
import ConvergeNet
import ConvergeWire

/// Everything `converge` is told on its command line, with the defaults a public server wants.
public struct ServerConfig: Sendable {
    public var listenHost = "0.0.0.0"
    public var listenPort = 8000
    /// Where `agent`, `wsproxy` and `tcptows` are served from.
    public var downloadsDirectory = "."
    /// The server's user for agents (`--user`), and the hash of its password.
    public var user: String? = nil
    public var passwordHash: PasswordHash? = nil
    /// When set, only agents presenting one of these tokens may register (401 otherwise).
    public var agentTokens: AgentTokens? = nil
    /// Who may see `/sessions` (`--admin-token-file`, and `--user`); off when empty.
    public var admin = AdminAccess()

    /// Named limits (`Limit`): each refusal is logged and counted under its name.
    public var maxHeadBytes = 8192
    public var headTimeout: Double = 10
    public var maxConnectionsPerAddress = 256
    public var maxSessions = 1000
    public var maxSessionsPerID = 32
    /// Proxies whose X-Forwarded-For names the client (`--trusted-proxy`); empty: none.
    public var trustedProxies = TrustedProxies()
    public var registry = Registry.Limits()
    /// Pings on idle WebSockets (nginx's default idle timeout is 60 s).
    public var pingInterval: Double = 20
    public var deadPeerTimeout: Double = 60
    /// On SIGTERM, how long running sessions may go on before they are ended.
    public var drainTimeout: Double = 30
    /// The SSH jump host (`--ssh-listen`); nil: off.
    public var jump: JumpOptions? = nil

    public init() {}

    /// A session's tunnel: TCP keepalive finds dead peers within `deadPeerTimeout`.
    var tunnelOptions: SpliceTunnel.Options {
        var options = SpliceTunnel.Options()
        options.keepaliveIdle = pingInterval
        options.deadPeerTimeout = deadPeerTimeout
        return options
    }
}
