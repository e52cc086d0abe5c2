/// Close codes of the agent's own (4000-4999: private use, RFC 6455 §7.4.2).
public enum AgentCloseCode {
    /// The agent ended an SSH connection before its login and says why in the close
    /// frame's reason (login_grace_time): wsproxy prints it and the jump host disconnects
    /// with it, for a person at a password prompt, where ssh shows nothing until then.
    public static let endedLogin: UInt16 = 4000
}
