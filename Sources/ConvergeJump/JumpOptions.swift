import ConvergeNet
import ConvergeSSH
import ConvergeWire

/// The SSH jump host (`--ssh-listen`): `ssh -J HOST:PORT USER@ID` reaches agent ID
/// through a `direct-tcpip` channel, which the server pairs like a `/client/ID` request.
public struct JumpOptions: Sendable {
    public var listenHost = "0.0.0.0"
    public var listenPort = 2222
    /// The port people type after `-J` when NAT or a firewall maps another one to ours
    /// (`--ssh-public-port`); the docs page and the agent's banner show it.
    public var publicPort: Int? = nil
    /// The jump host's own key (`--ssh-host-key`), created on first start.
    public var hostKeyPath = "ssh_host_ed25519_key"
    /// Where a jump process opens its client leg (`--jump-upstream`): nil is this
    /// server; a cluster names its front, so the ID's backend is found by nginx.
    public var upstream: ServerURL? = nil

    /// Named limits (flag, log line, counter), as in OpenSSH's sshd.
    /// jump_login_grace_time: key exchange and login must be done within this.
    public var loginGraceTime: Double = 30
    /// max_jump_startups_per_address: connections from one address not logged in yet.
    public var maxStartupsPerAddress = 10
    /// max_jump_channels: channels (pairings) open at once on one jump connection.
    public var maxChannels = 10

    public init() {}

    /// The port shown to people.
    public var shownPort: Int { publicPort ?? listenPort }
}

/// What a jump process is handed by the master: the options, the host key, the
/// server's keepalive timings and where to log.
public struct JumpSettings {
    public var hostKey: SSHHostKey
    public var options: JumpOptions
    /// Keepalive to a quiet client (SSH) and agent leg (WebSocket ping)...
    public var pingInterval: Double
    /// ...and how long either may stay silent (limit: dead_peer_timeout).
    public var deadPeerTimeout: Double
    public var log: Log

    public init(hostKey: SSHHostKey, options: JumpOptions, pingInterval: Double, deadPeerTimeout: Double, log: Log) {
        self.hostKey = hostKey
        self.options = options
        self.pingInterval = pingInterval
        self.deadPeerTimeout = deadPeerTimeout
        self.log = log
    }
}
