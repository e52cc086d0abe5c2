import ConvergeNet
import ConvergeSFTP

/// Everything one SSH connection needs from the agent.
public struct SSHServerConfiguration {
    public var hostKey: SSHHostKey
    public var auth: SSHAuthPolicy
    /// Shell path and base environment for children (default: --shell/$SHELL/bash/sh and
    /// the agent's environment without CONVERGE_PASSWORD).
    public var environment: ShellEnvironment
    public var log: Log
    /// Prefix of every log line of this connection, e.g. `session 3`.
    public var label: String
    /// Named limits (each refusal is logged with the limit's name): login_grace_time
    /// (from the start of the connection, key exchange included), max_auth_tries.
    public var loginGraceSeconds: Double
    public var maxAuthFailures: Int
    public var maxChannels: Int
    /// Recent failed guesses from this client's address: the throttle starts there.
    public var priorGuesses: Int
    /// The client's address as the server announced it (`session client=`), which
    /// authorized keys' `from=` options are matched against.
    public var client: String
    /// `--permit-user-environment`: authorized keys' `environment=` options reach the
    /// session's children (sshd's PermitUserEnvironment); otherwise they are ignored.
    public var permitUserEnvironment: Bool
    /// When set, the connection is refused right after the key exchange with this
    /// message (what the client's `ssh` prints), before any login is possible.
    public var refusal: String?
    /// How long children get between SIGHUP and SIGKILL when the connection ends.
    public var killGraceSeconds: Double
    /// The sftp subsystem, run in a forked child with the channel on stdin and stdout.
    public var sftpServer: () -> Void
    /// libssh's own logging to stderr (0 = off, 1 warnings ... 4 functions), for debugging.
    public var libsshVerbosity: Int32

    public init(hostKey: SSHHostKey, auth: SSHAuthPolicy, environment: ShellEnvironment = .current(),
                log: Log = .stdout, label: String = "ssh") {
        self.hostKey = hostKey
        self.auth = auth
        self.environment = environment
        self.log = log
        self.label = label
        loginGraceSeconds = 60
        maxAuthFailures = AuthThrottle.defaultMaxFailures
        maxChannels = 64
        priorGuesses = 0
        client = "unknown"
        permitUserEnvironment = false
        refusal = nil
        killGraceSeconds = 1
        sftpServer = { SFTPService.serve(input: 0, output: 1) }
        libsshVerbosity = 0
    }
}

/// What the session tells the agent (for its lifecycle: first login, last logout).
public enum SSHSessionEvent: Equatable {
    case loggedIn(user: String, method: SSHAuthMethod, keyFingerprint: String?)
    /// `isGuess`: a wrong password or bad signature (not a key the client merely offered).
    case loginFailed(user: String, method: String, reason: String, isGuess: Bool)
    case loggedOut(user: String, seconds: Double)
}
