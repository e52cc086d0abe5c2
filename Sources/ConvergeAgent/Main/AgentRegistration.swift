import ConvergeClient
import ConvergeNet
import ConvergeWire
import Glibc

/// The agent's half of docs/protocol.md: offering one connection under its ID and
/// waiting until the server pairs a client with it.
struct AgentRegistration {
    /// What the server's 101 told us about its own user.
    struct ServerUser: Equatable {
        let name: String
        let passwordHash: PasswordHash
    }

    let url: ServerURL
    let tls: TLSContext?
    /// Random per run: lets the server tell our new connections from another agent's.
    let agentKey: String

    /// `CONVERGE_AGENT_TOKEN`, for servers that register only agents with a token.
    let token: String?
    /// Where the agent runs, for the server's operator view (optional headers).
    let facts: AgentFacts

    init(server: ServerURL, id: String, tls: TLSContext?, token: String?, facts: AgentFacts = AgentFacts()) {
        self.token = token
        self.facts = facts
        self.url = server.with(path: AgentRegistration.basePath(of: server) + "/agent/\(id)")
        self.tls = tls
        self.agentKey = RendezvousID.random(using: AgentRegistration.randomBytes) + RendezvousID.random(using: AgentRegistration.randomBytes)
    }

    /// Opens and offers one connection (unmasked frames: the agent leg).
    func offer() throws(DialError) -> WebSocketConnection {
        var headers = [("X-Converge-Agent-Key", agentKey)]
        if let token { headers.append(("X-Converge-Agent-Token", token)) }
        headers += facts.headers
        var dialer = WebSocketDialer(url: url, tls: tls, headers: headers)
        dialer.masksOutgoing = false
        return try dialer.dial()
    }

    /// The server's user from the 101 answer, if it has one (and the hash parses).
    static func serverUser(of connection: WebSocketConnection, log: Log) -> ServerUser? {
        guard let name = connection.response.headers["X-Converge-User"],
              let hashText = connection.response.headers["X-Converge-Password-Hash"] else { return nil }
        do {
            return ServerUser(name: name, passwordHash: try PasswordHash(parsing: hashText))
        } catch {
            log.write("the server's password hash is unusable (\(error.description)): its user cannot log in")
            return nil
        }
    }

    /// The server's SSH jump host, when it announces one in its 101 answer.
    struct JumpHost: Equatable {
        let port: Int
        /// `ssh-ed25519 AAAA...`, for a known_hosts line.
        let publicKeyLine: String?
    }

    static func jumpHost(of connection: WebSocketConnection) -> JumpHost? {
        guard let text = connection.response.headers["X-Converge-Jump-Port"], let port = Int(text), (1...65535).contains(port) else { return nil }
        let key = connection.response.headers["X-Converge-Jump-Host-Key"].flatMap { line -> String? in
            // Printed in the log: only a plausible key line, nothing that could forge one.
            let fields = line.split(separator: " ")
            guard fields.count == 2, fields[0].hasPrefix("ssh-") || fields[0].hasPrefix("ecdsa-"),
                  line.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F || $0 == 0x20 }) else { return nil }
            return line
        }
        return JumpHost(port: port, publicKeyLine: key)
    }

    enum Wait {
        case session(client: String)
        case nothingYet
    }

    /// Waits until `deadline` for the server's `session` text frame.
    static func waitForSession(_ connection: WebSocketConnection, until deadline: Double) throws(NetError) -> Wait {
        while let message = try connection.receive(until: deadline) {
            switch message.opcode {
            case .text:
                if let client = sessionClient(message.text) { return .session(client: client) }
            case .close:
                throw NetError(.io, "the server closed the offered connection")
            default:
                continue  // frames we do not know are ignored, as the protocol says
            }
        }
        return .nothingYet
    }

    /// Tells the server who is logged in and when the session expires, in an unsolicited
    /// pong (docs/protocol.md): should the server pair the connection before reading it,
    /// the client ignores a pong, where a text frame would break its stream.
    static func sendState(_ state: AgentStateLine, over connection: WebSocketConnection) throws(NetError) {
        try connection.send(.pong, Array(state.text.utf8), deadline: Clock.monotonic() + 2)
    }

    /// The client's address from the server's `session key=value…` text ("unknown" when
    /// it names none), or nil when the text is not a `session` message.
    static func sessionClient(_ text: String) -> String? {
        guard text.hasPrefix("session") else { return nil }
        let client = text.split(separator: " ").first { $0.hasPrefix("client=") }.map { String($0.dropFirst(7)) }
        return client ?? "unknown"
    }

    /// The URL's path without a trailing slash, so a server behind a path prefix works.
    static func basePath(of server: ServerURL) -> String {
        var path = Substring(server.path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
        while path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        arc4random_buf(&bytes, count)
        return bytes
    }
}
