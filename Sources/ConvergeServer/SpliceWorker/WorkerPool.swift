import CShims
import ConvergeNet
import Glibc
import SystemPackage

/// The master's side of the splice workers. One spare worker is always forked ahead of
/// time, so pairing costs one `sendmsg` (SCM_RIGHTS), not a fork; the spare closed every
/// inherited descriptor when it started, so it holds nothing but what it is handed.
struct WorkerPool {
    struct Session {
        let id: String
        let clientPeer: String
        let agentPeer: String
        let path: Connection.Path
        let started: Double
    }

    struct Worker {
        let pid: pid_t
        let control: FileDescriptor
        var session: Session?
        var clientToAgent: UInt64 = 0
        var agentToClient: UInt64 = 0
    }

    /// One report read from a worker: deltas for the byte counters, and whether it ended.
    struct Update {
        /// The worker's pid: the session's number in the operator's view.
        var pid: pid_t = 0
        var clientToAgentDelta: UInt64 = 0
        var agentToClientDelta: UInt64 = 0
        var clientToAgent: UInt64 = 0
        var agentToClient: UInt64 = 0
        var ended: Session? = nil
        var reason: String? = nil
    }

    let log: Log
    /// Keepalive and grace for every session's tunnel.
    let tunnelOptions: SpliceTunnel.Options
    private var spare: Worker? = nil
    /// Workers relaying a session, by control socket.
    private var active: [FileDescriptor: Worker] = [:]
    /// The same sessions counted per ID (max_sessions_per_id).
    private(set) var perID = SessionsPerID()

    init(log: Log, tunnelOptions: SpliceTunnel.Options) {
        self.log = log
        self.tunnelOptions = tunnelOptions
    }

    var activeCount: Int { active.count }

    func owns(control fd: FileDescriptor) -> Bool { active[fd] != nil || spare?.control == fd }

    /// The spare's control socket: the master watches it, so that a worker's reports
    /// (and its death) reach the loop once it carries a session.
    var spareControl: FileDescriptor? { spare?.control }

    /// Forks the next spare worker if there is none. The master must be single-threaded here.
    mutating func prepareSpare() {
        guard spare == nil else { return }
        let master: FileDescriptor, worker: FileDescriptor
        do { (master, worker) = try Socket.pair(.seqpacket) } catch {
            log.write("converge: cannot create a worker's control socket: \(Errno(rawValue: error.code))")
            return
        }
        let pid = fork()
        if pid == 0 {
            SpliceWorker.main(control: worker, options: tunnelOptions)  // never returns
        }
        let forkError = Errno(rawValue: errno)
        try? worker.close()
        guard pid > 0 else {
            log.write("converge: cannot fork a splice worker: \(forkError)")
            try? master.close()
            return
        }
        spare = Worker(pid: pid, control: master)
    }

    /// Hands the paired sockets to the spare worker, which becomes this session's worker.
    mutating func handOff(client: FileDescriptor, clientBytes: [UInt8], agent: FileDescriptor, agentBytes: [UInt8],
                          session: Session) -> Result<pid_t, ServerError> {
        prepareSpare()
        guard var worker = spare else { return .failure(ServerError("no splice worker available")) }
        spare = nil
        let payload = HandOff(id: session.id, clientPeer: session.clientPeer, clientBytes: clientBytes, agentBytes: agentBytes).encoded
        do { try FDPassing.send([client, agent], payload: payload, over: worker.control) } catch {
            let error = ServerError("handing the session to worker \(worker.pid) failed: \(Errno(rawValue: error.code))")
            kill(worker.pid, SIGKILL)
            try? worker.control.close()
            prepareSpare()
            return .failure(error)
        }
        worker.session = session
        active[worker.control] = worker
        perID.started(session.id)
        prepareSpare()
        return .success(worker.pid)
    }

    /// Reads a worker's reports; on EOF the worker is finished and forgotten.
    mutating func read(control fd: FileDescriptor) -> [Update] {
        if spare?.control == fd {
            // A spare only speaks by dying; the next pairing forks a new one.
            try? fd.close()
            spare = nil
            return []
        }
        guard var worker = active[fd] else { return [] }
        var updates: [Update] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = recv(fd.rawValue, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { break }
            guard n > 0, let report = WorkerReport(line: String(decoding: buffer[0..<n], as: UTF8.self)) else {
                // EOF (or garbage): the worker is gone, maybe killed.
                var update = Update(pid: worker.pid, clientToAgent: worker.clientToAgent, agentToClient: worker.agentToClient)
                update.ended = worker.session
                update.reason = "worker ended without a report"
                updates.append(update)
                finish(fd)
                return updates
            }
            var update = Update(pid: worker.pid)
            update.clientToAgentDelta = report.clientToAgent &- worker.clientToAgent
            update.agentToClientDelta = report.agentToClient &- worker.agentToClient
            update.clientToAgent = report.clientToAgent
            update.agentToClient = report.agentToClient
            worker.clientToAgent = report.clientToAgent
            worker.agentToClient = report.agentToClient
            if let reason = report.endReason {
                update.ended = worker.session
                update.reason = reason
                updates.append(update)
                finish(fd)
                return updates
            }
            updates.append(update)
        }
        active[fd] = worker
        return updates
    }

    private mutating func finish(_ fd: FileDescriptor) {
        if let id = active[fd]?.session?.id { perID.ended(id) }
        active[fd] = nil
        try? fd.close()
        reap()
    }

    /// Collects exited workers without blocking.
    func reap() {
        var status: Int32 = 0
        while waitpid(-1, &status, WNOHANG) > 0 {}
    }

    mutating func dropSpare() {
        guard let worker = spare else { return }
        kill(worker.pid, SIGTERM)
        try? worker.control.close()
        spare = nil
    }

    /// Ends every session (drain time over).
    mutating func terminateAll() {
        for worker in active.values { kill(worker.pid, SIGTERM) }
        dropSpare()
    }
}
