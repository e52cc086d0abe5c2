import ConvergeWire
import SystemPackage

/// One accepted socket in the master, from its first byte until it is answered,
/// becomes an offered agent connection, waits as a client, or is handed to a worker.
final class Connection {
    /// How the person came: a WebSocket (wsproxy, tcptows) or the SSH jump host.
    enum Path: String {
        case ws, ssh
    }

    enum State {
        /// Reading the request head (bounded in bytes and time).
        case readingHead
        /// Writing a plain answer, then maybe a file, then closing.
        case responding(file: FileSend?)
        /// An agent's idle connection, offered for the next client.
        case offered(id: String, decoder: WebSocketDecoder, lastPing: Double)
        /// A client waiting for its agent's next offer; `answer` (its 101) goes out on pairing.
        case waitingClient(id: String, answer: [UInt8])
        /// An operator's page following `/sessions/events`: written to, never read.
        /// `version` is the view's version it was last sent.
        case streaming(version: Int, lastWrite: Double)
    }

    /// A download in progress: the rest of the file goes out with sendfile.
    struct FileSend {
        let fd: FileDescriptor
        var offset: Int
        let size: Int
    }

    let fd: FileDescriptor
    /// Who is named in log lines: `host:port` of the TCP peer, or the client address a
    /// trusted proxy forwarded.
    var peer: String
    /// The address max_connections_per_address counts this connection under (no port);
    /// nil until it is counted (a trusted proxy's connection: once its head is read).
    var address: String?
    /// The TCP peer, when it is a trusted proxy: the client is read from the head.
    let proxy: IPAddress?
    let accepted: Double
    var state: State = .readingHead
    var inbox: [UInt8] = []
    /// How far the head has been scanned (heads may arrive a byte at a time).
    var headBoundary = HTTPHeadBoundary()
    var outbox: [UInt8] = []
    var outboxSent = 0
    var lastHeard: Double
    var path = Path.ws

    init(fd: FileDescriptor, peer: String, address: String?, proxy: IPAddress? = nil, now: Double) {
        self.fd = fd
        self.peer = peer
        self.address = address
        self.proxy = proxy
        self.accepted = now
        self.lastHeard = now
    }

    /// How the registry knows this connection.
    var number: Registry.Connection { Int(fd.rawValue) }
}
