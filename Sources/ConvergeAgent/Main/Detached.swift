import CShims
import ConvergeNet
import ConvergeWire
import Glibc

/// `agent --detach`, `agent --wait`, `agent --stop`: the agent in the background of a CI
/// job while its next steps run, found again by a later step through two files in the
/// working directory (no flag needed):
/// - `.converge-agent`, its state, appended one `key value` line at a time: `pid N` (the
///   background agent), `shown N` (bytes of the log `--detach` printed), and, as it ends,
///   `exit STATUS WHY`;
/// - `converge-agent.log`, its log.
/// `--wait` and `--stop` print the rest of the log and remove both once the agent has ended.
public enum Detached {
    public static let stateFile = ".converge-agent"
    public static let logFile = "converge-agent.log"

    /// What `.converge-agent` says.
    struct State: Equatable {
        struct Ending: Equatable {
            let status: Int32
            let why: String
        }
        var pid: pid_t?
        var shown = 0
        var ending: Ending?

        init(parsing text: String) {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { continue }
                switch parts[0] {
                case "pid": pid = pid_t(parts[1]) ?? pid
                case "shown": shown = Int(parts[1]) ?? shown
                case "exit":
                    let fields = parts[1].split(separator: " ", maxSplits: 1)
                    if let status = Int32(fields[0]) { ending = Ending(status: status, why: fields.count > 1 ? String(fields[1]) : "") }
                default: continue
                }
            }
        }

        /// An `exit` line: the status and the first line of why.
        static func exitLine(_ exit: AgentExit) -> String {
            "exit \(exit.exitCode) \(exit.description.split(separator: "\n").first ?? "")"
        }
    }

    // MARK: --detach

    /// Starts `run` in a background process (its own session, its output in the log file)
    /// and follows its log until it is registered (exit 0: the banner is printed) or ends
    /// first (exit with its status). `run` calls `ready` once registered.
    public static func start(run: (_ ready: @escaping () -> Void) -> AgentExit) -> Never {
        let directory = workingDirectory()
        if let state = readState(), state.ending == nil, let pid = state.pid, ProcessTable.isRunning(pid, in: directory) {
            fail("a background agent already runs in this directory (pid \(pid)): `agent --wait` waits for it, `agent --stop` ends it", status: 2)
        }
        unlink(stateFile)
        let logFD = open(logFile, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        let nullFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        var pipe: [Int32] = [-1, -1]
        guard logFD >= 0, nullFD >= 0, cshim_pipe_nonblocking(&pipe) == 0 else {
            fail("cannot start in the background: \(String(cString: strerror(errno)))", status: 1)
        }
        let pid = fork()
        if pid < 0 { fail("cannot start in the background: \(String(cString: strerror(errno)))", status: 1) }
        if pid == 0 {
            close(pipe[0])
            setsid()
            dup2(nullFD, 0)
            dup2(logFD, 1)
            dup2(logFD, 2)
            appendState("pid \(getpid())")
            let readyFD = pipe[1]
            let outcome = run {
                _ = write(readyFD, "ready\n", 6)
                close(readyFD)
            }
            // The outcome ends the log as it ends the output of an agent in the foreground.
            Log.stdout.write(outcome.exitCode == 0 ? outcome.description : "agent: \(outcome.description)")
            appendState(State.exitLine(outcome))
            _exit(outcome.exitCode)
        }
        close(pipe[1])
        close(logFD)
        close(nullFD)
        var follower = LogFollower(path: logFile)
        var ready = false
        while !ready {
            follower.printNew()
            var fds = pollfd(fd: pipe[0], events: Int16(POLLIN), revents: 0)
            guard poll(&fds, 1, 200) != 0 else { continue }
            var bytes = [UInt8](repeating: 0, count: 64)
            let n = read(pipe[0], &bytes, bytes.count)
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 { break }
            ready = bytes[0..<n].starts(with: Array("ready".utf8))
        }
        follower.printNew()
        if ready {
            appendState("shown \(follower.offset)")
            writeOut("agent: running in the background (pid \(pid), log in \(logFile)); `agent --wait` waits for it, `agent --stop` ends it")
            exit(0)
        }
        // It ended before it was registered: its log said why; nothing stays behind.
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        follower.printNew()
        let ending = readState()?.ending
        removeFiles()
        exit(ending?.status ?? 1)
    }

    // MARK: --wait, --stop

    /// `agent --wait`: tells the background agent (which restarts its wait for a first
    /// login and prints its banner again), follows its log until it ends, and exits with
    /// its status.
    public static func wait() -> Never { follow(signal: AgentSignals.restartWaiting) }

    /// `agent --stop`: ends the background agent now (as SIGTERM does) and exits with its status.
    public static func stop() -> Never { follow(signal: SIGTERM) }

    private static func follow(signal: Int32) -> Never {
        guard let state = readState() else {
            fail("no background agent in this directory (\(stateFile) is missing): start one with `agent --detach`", status: 1)
        }
        let directory = workingDirectory()
        var follower = LogFollower(path: logFile, offset: state.shown)
        if state.ending == nil, let pid = state.pid, ProcessTable.isRunning(pid, in: directory) { kill(pid, signal) }
        while true {
            follower.printNew()
            let now = readState() ?? state
            if let ending = now.ending {
                // It writes its end just before it exits: give it that moment.
                for _ in 0..<50 where now.pid.map({ ProcessTable.isRunning($0, in: directory) }) ?? false { usleep(100_000) }
                finish(ending, follower: &follower)
            }
            if now.pid.map({ !ProcessTable.isRunning($0, in: directory) }) ?? true {
                // It may have written its end just now.
                if let ending = readState()?.ending { finish(ending, follower: &follower) }
                follower.printNew()
                removeFiles()
                fail("the background agent\(now.pid.map { " (pid \($0))" } ?? "") ended without saying why (killed?)", status: 1)
            }
            usleep(200_000)
        }
    }

    private static func finish(_ ending: State.Ending, follower: inout LogFollower) -> Never {
        follower.printNew()
        removeFiles()
        writeOut("agent: the background agent ended with status \(ending.status): \(ending.why)")
        exit(ending.status)
    }

    // MARK: files

    static func readState() -> State? { TextFile.read(stateFile).map(State.init(parsing:)) }

    static func appendState(_ line: String) {
        let fd = open(stateFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    static func removeFiles() {
        unlink(stateFile)
        unlink(logFile)
    }

    static func workingDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(cString: buffer)
    }

    static func writeOut(_ line: String) { Log.stdout.writeLine(line) }

    static func fail(_ message: String, status: Int32) -> Never {
        Log.stderr.writeLine("agent: \(message)")
        exit(status)
    }
}

/// Copies what a growing log file gained since the last look to standard output.
struct LogFollower {
    let path: String
    private(set) var offset: Int

    init(path: String, offset: Int = 0) {
        self.path = path
        self.offset = offset
    }

    mutating func printNew() {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = pread(fd, &chunk, chunk.count, off_t(offset))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            var written = 0
            while written < n {
                let w = chunk.withUnsafeBytes { write(1, $0.baseAddress! + written, n - written) }
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { return }
                written += w
            }
            offset += n
        }
    }
}
