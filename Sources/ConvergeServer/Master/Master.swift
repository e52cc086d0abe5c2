import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// The single-threaded master: accepts connections, reads request heads under limits,
/// answers plain HTTP, keeps agents' offered connections, pairs clients with them and
/// hands each pair to a splice worker process. It never blocks on a socket or a worker.
///
/// One file per concern, each an extension of this class:
/// - here: the state, the loop and its dispatch, accepting (and running out of descriptors);
/// - `Master+HTTP`: request heads, routing, the docs page, /metrics, downloads;
/// - `Master+Pairing`: agents' offers, clients, pairing, agent frames while offered;
/// - `Master+Connections`: a connection by its state: reading, answering, refusing, closing;
/// - `Master+Housekeeping`: the sweep, worker reports, signals and the drain;
/// - `Jump/Master+Jump`: the SSH jump host's connections and its processes' requests;
/// - `OperatorView/Master+Sessions`: the operator's view, its credentials and live pages.
public final class Master {
    let config: ServerConfig
    let log = Log.stderr
    var loop: EventLoop
    let listener: TCPListener
    let signals: FileDescriptor
    /// Held open so that, out of descriptors, we can still accept and refuse politely.
    var reserveFD: FileDescriptor?
    var connections: [FileDescriptor: Connection] = [:]
    var connectionsPerAddress = ConnectionsPerAddress()
    var registry: Registry
    var metrics = Metrics()
    var workers: WorkerPool
    var lastSweep = 0.0
    var acceptPausedUntil: Double? = nil
    var drainDeadline: Double? = nil
    /// The SSH jump host (`--ssh-listen`), when enabled.
    var jump: JumpHosts?
    /// The operator's view (`/sessions`): what it shows, wrong credentials, open pages.
    var sessionsView = SessionsView()
    var adminThrottle = AdminThrottle()
    var eventStreams: Set<FileDescriptor> = []

    public init(config: ServerConfig) throws(ServerError) {
        self.config = config
        self.registry = Registry(limits: config.registry)
        self.loop = try EventLoop()
        do {
            self.listener = try TCPListener(host: config.listenHost, port: config.listenPort, backlog: 1024)
        } catch {
            throw ServerError(error.description)
        }
        self.signals = FileDescriptor(rawValue: try Signals.openSignalFD())
        self.reserveFD = Master.openReserve()
        self.workers = WorkerPool(log: log, tunnelOptions: config.tunnelOptions)
        if let options = config.jump { jump = try JumpHosts(options: options, log: log) }
        loop.watch(listener.fd)
        loop.watch(signals)
        if let jump { loop.watch(jump.listener.fd) }
    }

    /// Serves until SIGTERM/SIGINT and the drain that follows; returns the exit status.
    public func run() -> Int32 {
        log.write("converge: listening on \(config.listenHost):\(config.listenPort), downloads from \(config.downloadsDirectory)\(config.user.map { ", user \(LogText.escaped($0))" } ?? "")")
        if !config.trustedProxies.isEmpty {
            log.write("converge: client addresses from X-Forwarded-For when the peer is a trusted proxy: \(config.trustedProxies.networks.map(\.description).joined(separator: ", "))")
        }
        if let jump {
            log.write("converge: jump host (ssh -J) listening on \(jump.options.listenHost):\(jump.options.listenPort)\(jump.options.upstream.map { ", client legs through \($0)" } ?? "")")
        }
        prepareSpare()
        while true {
            let ready = loop.wait(timeoutMs: 500)
            let now = Clock.monotonic()
            for (fd, readiness) in ready { dispatch(fd, readiness, now: now) }
            if now - lastSweep >= 0.5 { sweep(now: now) }
            if let status = drainStatus(now: now) { return status }
        }
    }

    // MARK: dispatch

    /// What a watched descriptor is to the master. Each kind has one handler, in the file
    /// of its concern: a new kind of descriptor (a new process role's listener or control
    /// sockets) is a case here, a line in `watched` and a line in `dispatch`.
    enum Watched {
        case listener
        case signals
        case worker
        case jumpListener
        case jumpProcess
        case connection(Connection)
    }

    func watched(_ fd: FileDescriptor) -> Watched? {
        if fd == listener.fd { return .listener }
        if fd == signals { return .signals }
        if workers.owns(control: fd) { return .worker }
        if fd == jump?.listener.fd { return .jumpListener }
        if jump?.owns(control: fd) == true { return .jumpProcess }
        return connections[fd].map(Watched.connection)
    }

    private func dispatch(_ fd: FileDescriptor, _ ready: Readiness, now: Double) {
        switch watched(fd) {
        case .listener: acceptAll(now: now)
        case .signals: handleSignals(now: now)
        case .worker: workerSpoke(fd, now: now)
        case .jumpListener: acceptJumpConnections(now: now)
        case .jumpProcess: jumpSpoke(fd, now: now)
        case .connection(let c): serve(c, ready: ready, now: now)
        case nil: break
        }
    }

    // MARK: accepting

    /// Accepts every connection waiting on `listener` and hands each to `admit`. Out of
    /// descriptors, one is refused with `refusal` and accepting pauses (see below).
    func acceptEach(on listener: TCPListener, refusal: [UInt8], now: Double, _ admit: (FileDescriptor, SocketAddress) -> Void) {
        while true {
            let accepted: (fd: FileDescriptor, peer: SocketAddress)?
            do { accepted = try listener.accept() } catch {
                if error.code == EMFILE || error.code == ENFILE { refuseOutOfDescriptors(on: listener, refusal: refusal, now: now) }
                return
            }
            guard let (fd, address) = accepted else { return }
            admit(fd, address)
        }
    }

    func acceptAll(now: Double) {
        let refusal = Responses.text(503, "server is out of file descriptors, try again later")
        acceptEach(on: listener, refusal: refusal, now: now) { fd, address in
            let peer = address.description
            let host = address.hostAndPort.host
            // A trusted proxy's connections are counted under the client it names, once
            // the head (with X-Forwarded-For) is read: counted here, they would all be one.
            if let proxy = IPAddress(parsing: host), config.trustedProxies.trusts(proxy) {
                connections[fd] = Connection(fd: fd, peer: peer, address: nil, proxy: proxy, now: now)
                loop.watch(fd)
                return
            }
            if let refusal = perAddressRefusal(host, peer: peer) {
                _ = try? refusal.withUnsafeBytes { try fd.write($0) }
                try? fd.close()
                return
            }
            connectionsPerAddress.opened(host)
            connections[fd] = Connection(fd: fd, peer: peer, address: host, now: now)
            loop.watch(fd)
        }
    }

    /// The 429 for one connection too many from `address` (logged and counted), or nil.
    func perAddressRefusal(_ address: String, peer: String) -> [UInt8]? {
        guard !connectionsPerAddress.admits(address, limit: config.maxConnectionsPerAddress) else { return nil }
        metrics.refuse(.maxConnectionsPerAddress)
        log.write("\(peer) refused 429: limit \(Limit.maxConnectionsPerAddress) (\(config.maxConnectionsPerAddress)) reached")
        return Responses.text(429, "too many connections from your address \(Limit.maxConnectionsPerAddress.tag())")
    }

    /// For a trusted proxy's connection: takes the client from X-Forwarded-For, names it
    /// in the logs from now on and counts it per address. False when it was refused.
    func admitForwarded(_ c: Connection, _ request: HTTPRequestHead, proxy: IPAddress, now: Double) -> Bool {
        let client: IPAddress
        do {
            client = try config.trustedProxies.client(peer: proxy, forwardedFor: request.headers.values("X-Forwarded-For"))
        } catch {
            refuse(c, 400, error.description, limit: .badForwardedFor, now: now)
            return false
        }
        let address = client.description
        if client != proxy { c.peer = address }
        // A jump host in front of us (a cluster's) labels its client legs.
        if request.headers["X-Converge-Path"] == "ssh" { c.path = .ssh }
        if let refusal = perAddressRefusal(address, peer: c.peer) {
            respond(c, refusal, now: now)
            return false
        }
        connectionsPerAddress.opened(address)
        c.address = address
        return true
    }

    /// Out of descriptors: free the reserve, accept one, answer it, and pause accepting
    /// (on every listener) for a moment, so a listener does not spin while it stays readable.
    func refuseOutOfDescriptors(on listener: TCPListener, refusal: [UInt8], now: Double) {
        metrics.refuse(.outOfDescriptors)
        log.write("converge: refused a connection: out of file descriptors (raise the limit with ulimit -n)")
        try? reserveFD?.close()
        if let (socket, _) = try? listener.accept() {
            _ = try? refusal.withUnsafeBytes { try socket.write($0) }
            try? socket.close()
        }
        reserveFD = Master.openReserve()
        for fd in listeners { loop.unwatch(fd) }
        acceptPausedUntil = now + 1
    }

    /// Every listening socket: HTTP, and the jump host's when there is one.
    var listeners: [FileDescriptor] { [listener.fd] + (jump.map { [$0.listener.fd] } ?? []) }

    /// The spare descriptor that running out of them frees for a moment.
    static func openReserve() -> FileDescriptor? {
        try? FileDescriptor.open("/dev/null", .readOnly, options: .closeOnExec)
    }
}
