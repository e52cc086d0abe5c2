import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// Reading the agent's login sources at start-up: the authorized keys file and the
/// agent's own password.
public enum AgentSetup {
    /// Keys from `path` (a missing file is an error), or from `.authorized_keys` in the
    /// working directory when it exists. Bad lines are logged with their line numbers.
    public static func authorizedKeys(path: String?, log: Log) throws(AgentExit) -> [AuthorizedKey] {
        let file = path ?? ".authorized_keys"
        guard let text = TextFile.read(file) else {
            if path != nil { throw .configuration("cannot read --authorized-keys \(file): \(Errno(rawValue: errno))") }
            return []
        }
        let parsed = AuthorizedKeysFile(parsing: text)
        for issue in parsed.issues { log.write("\(file): \(issue)") }
        for key in parsed.keys {
            log.write("\(file): accepting \(key.type) key \(key.fingerprint)\(key.comment.isEmpty ? "" : " (\(LogText.escaped(key.comment)))")")
        }
        if path != nil && parsed.keys.isEmpty { throw .configuration("--authorized-keys \(file) holds no usable key") }
        return parsed.keys
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

    /// A random, unguessable rendezvous ID.
    public static func randomID() -> String { RendezvousID.random(using: AgentRegistration.randomBytes) }
}
