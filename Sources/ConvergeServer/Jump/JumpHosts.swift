import ConvergeJump
import ConvergeNet
import ConvergeSSH
import ConvergeWire
import Glibc
import SystemPackage

/// The master's side of the jump host: the SSH listener, the host key, and one forked
/// jump process per accepted connection, known by its control socket.
struct JumpHosts {
    struct Process {
        let pid: pid_t
        let peer: String
        /// What max_connections_per_address and max_jump_startups_per_address count.
        let address: String
        var loggedIn = false
    }

    let options: JumpOptions
    let listener: TCPListener
    let hostKey: SSHHostKey
    private(set) var processes: [FileDescriptor: Process] = [:]
    /// Jump connections not logged in yet, per address (max_jump_startups_per_address).
    private var startups: [String: Int] = [:]

    init(options: JumpOptions, log: Log) throws(ServerError) {
        self.options = options
        do {
            let (key, created) = try SSHHostKey.loadOrCreate(path: options.hostKeyPath)
            hostKey = key
            log.write("converge: jump host key \(key.fingerprint) \(created ? "created in" : "from") \(options.hostKeyPath)")
        } catch {
            throw ServerError("--ssh-host-key: \(error.description)")
        }
        do {
            listener = try TCPListener(host: options.listenHost, port: options.listenPort, backlog: 1024)
        } catch {
            throw ServerError("--ssh-listen: \(error.description)")
        }
    }

    func owns(control fd: FileDescriptor) -> Bool { processes[fd] != nil }

    var count: Int { processes.count }

    /// True when `address` may start one more jump connection.
    func admits(_ address: String) -> Bool { startups[address, default: 0] < options.maxStartupsPerAddress }

    mutating func started(_ process: Process, control: FileDescriptor) {
        processes[control] = process
        startups[process.address, default: 0] += 1
    }

    /// The process logged its client in: it no longer counts as a startup.
    mutating func loggedIn(control fd: FileDescriptor) {
        guard var process = processes[fd], !process.loggedIn else { return }
        process.loggedIn = true
        processes[fd] = process
        endStartup(process.address)
    }

    /// The process ended (its control socket closed); returns what it was.
    mutating func ended(control fd: FileDescriptor) -> Process? {
        guard let process = processes.removeValue(forKey: fd) else { return nil }
        if !process.loggedIn { endStartup(process.address) }
        return process
    }

    private mutating func endStartup(_ address: String) {
        let n = startups[address, default: 0]
        startups[address] = n > 1 ? n - 1 : nil
    }

    /// Ends every jump connection (the server is going away).
    func terminateAll() {
        for process in processes.values { kill(process.pid, SIGTERM) }
    }

    /// `ssh-ed25519 AAAA...` for the docs page and known_hosts lines.
    var publicKeyLine: String { hostKey.publicKeyLine }
}
