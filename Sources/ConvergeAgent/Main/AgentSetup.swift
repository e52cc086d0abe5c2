import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// Reading the agent's login sources at start-up: the authorized keys file and the
/// agent's own password.
public enum AgentSetup {
    /// Keys from `path` (a missing file is an error), or from `.authorized_keys` in the
    /// working directory (which may appear later). Bad lines are logged with their line
    /// numbers. The file is watched: edits count for the next login.
    public static func authorizedKeys(path: String?, log: Log) throws(AgentExit) -> AuthorizedKeysWatch {
        let watch = AuthorizedKeysWatch(path: path ?? ".authorized_keys", log: log)
        guard let path else { return watch }
        if !watch.readAtStart { throw .configuration("cannot read --authorized-keys \(path): \(Errno(rawValue: errno))") }
        if watch.keys.isEmpty { throw .configuration("--authorized-keys \(path) holds no usable key") }
        return watch
    }

    /// sshd ignores `environment=` unless PermitUserEnvironment allows it; say so once.
    public static func noteEnvironmentOptions(_ keys: [AuthorizedKey], permitted: Bool, log: Log) {
        let lines = keys.filter { !$0.options.environment.isEmpty }.map { String($0.line) }
        guard !permitted, !lines.isEmpty else { return }
        log.write("environment= options (key lines \(lines.joined(separator: ", "))) are ignored without --permit-user-environment")
    }

    /// `CONVERGE_PASSWORD`, taken out of the environment so that shells do not inherit it.
    public static func takeAgentPassword() -> String? {
        guard let raw = getenv("CONVERGE_PASSWORD") else { return nil }
        let password = String(cString: raw)
        unsetenv("CONVERGE_PASSWORD")
        return password.isEmpty ? nil : password
    }

    /// `CONVERGE_AGENT_TOKEN`, taken out of the environment like the password.
    public static func takeRegistrationToken() -> String? {
        guard let raw = getenv("CONVERGE_AGENT_TOKEN") else { return nil }
        let token = String(cString: raw)
        unsetenv("CONVERGE_AGENT_TOKEN")
        return token.isEmpty ? nil : token
    }

    /// The host key: from `--host-key FILE`, else from `CONVERGE_HOST_KEY` (taken out of
    /// the environment like the password), else a new one for this run only. A key the
    /// job brings keeps its fingerprint across runs, so people can pin it.
    public static func takeHostKey(path: String?, log: Log) throws(AgentExit) -> SSHHostKey {
        let text = getenv("CONVERGE_HOST_KEY").map { String(cString: $0) } ?? ""
        unsetenv("CONVERGE_HOST_KEY")
        do {
            if let path {
                let key = try SSHHostKey.load(path: path)
                log.write("host key from --host-key \(path)")
                return key
            }
            if !text.isEmpty {
                let key = try SSHHostKey(privateKeyText: text)
                log.write("host key from CONVERGE_HOST_KEY")
                return key
            }
            return try SSHHostKey.generate()
        } catch {
            throw .configuration("\(path.map { _ in "--host-key " } ?? (text.isEmpty ? "" : "CONVERGE_HOST_KEY: "))\(error.description)")
        }
    }

    /// This machine's local time's offset east of UTC now (for `expiry-time=` without `Z`).
    public static func localUTCOffset() -> Int {
        var seconds = time(nil)
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return 0 }
        return Int(parts.tm_gmtoff)
    }

    /// A random, unguessable rendezvous ID.
    public static func randomID() -> String { RendezvousID.random(using: AgentRegistration.randomBytes) }
}
