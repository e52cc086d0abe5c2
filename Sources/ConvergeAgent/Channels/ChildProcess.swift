import CShims
import ConvergeNet
import Glibc
import SystemPackage

/// How a child process ended, as SSH reports it (exit-status or exit-signal).
public enum ChildExit: Equatable, Sendable {
    case exited(Int32)
    case signaled(Int32)

    init(waitStatus: Int32) {
        var value: Int32 = 0
        switch cshim_wait_status(waitStatus, &value) {
        case 1: self = .exited(value)
        case 2: self = .signaled(value)
        default: self = .exited(255)
        }
    }
}

/// Terminal size from pty-req and window-change; 0x0 (as `ssh -tt` sends when its own
/// stdin is no terminal) becomes 80x24.
struct WindowSize: Equatable {
    var cols: UInt16
    var rows: UInt16
    var xpixel: UInt16
    var ypixel: UInt16

    init(cols: Int32, rows: Int32, xpixel: Int32, ypixel: Int32) {
        func clamp(_ v: Int32) -> UInt16 { UInt16(max(0, min(Int32(UInt16.max), v))) }
        self.cols = cols > 0 ? clamp(cols) : 80
        self.rows = rows > 0 ? clamp(rows) : 24
        self.xpixel = clamp(xpixel)
        self.ypixel = clamp(ypixel)
    }
}

/// A started child and the descriptors its channel pumps. Its process group id is its pid
/// (forkpty and the pipe spawner both make it a session leader).
struct LaunchedChild {
    let pid: pid_t
    /// Where client data goes: a pty master, a pipe to stdin, or one end of a socketpair.
    let input: FileDescriptor
    /// stdout (and stderr) descriptors; the same as `input` for a pty or socketpair.
    let output: FileDescriptor
    let errorOutput: FileDescriptor?
    let isTerminal: Bool
    let isSocket: Bool
}

/// Starts children through the C shim: the fork and everything before exec run in C.
enum ChildLauncher {
    static func launch(path: String, arguments: [String], environment: [String], terminal: WindowSize?) throws(SSHSessionError) -> LaunchedChild {
        let argv = CStringArray(arguments)
        let envp = CStringArray(environment)
        if let terminal {
            var master: Int32 = -1
            let pid = cshim_spawn_pty(path, argv.pointers, envp.pointers, terminal.rows, terminal.cols, terminal.xpixel, terminal.ypixel, &master)
            guard pid > 0 else { throw SSHSessionError("cannot start \(path) on a pty: \(Errno(rawValue: errno))") }
            let terminal = FileDescriptor(rawValue: master)
            try? Socket.setNonBlocking(terminal)
            return LaunchedChild(pid: pid, input: terminal, output: terminal, errorOutput: nil, isTerminal: true, isSocket: false)
        }
        var stdinFD: Int32 = -1, stdoutFD: Int32 = -1, stderrFD: Int32 = -1
        let pid = cshim_spawn_pipes(path, argv.pointers, envp.pointers, &stdinFD, &stdoutFD, &stderrFD)
        guard pid > 0 else { throw SSHSessionError("cannot start \(path): \(Errno(rawValue: errno))") }
        let (input, output, errorOutput) = (FileDescriptor(rawValue: stdinFD), FileDescriptor(rawValue: stdoutFD), FileDescriptor(rawValue: stderrFD))
        for fd in [input, output, errorOutput] {
            try? Socket.setNonBlocking(fd)
            Socket.growPipe(fd)
        }
        return LaunchedChild(pid: pid, input: input, output: output, errorOutput: errorOutput, isTerminal: false, isSocket: false)
    }

    /// Forks a child of this program that runs `body` with the peer end of a socketpair as
    /// stdin and stdout, then exits. Only for a single-threaded parent: a child forked from
    /// a process with other threads may hang on a lock one of them held.
    static func launchInProcess(_ body: () -> Void) throws(SSHSessionError) -> LaunchedChild {
        let local: FileDescriptor, peer: FileDescriptor
        do { (local, peer) = try Socket.pair() } catch { throw SSHSessionError(error.description) }
        for fd in [local, peer] {
            var size: Int32 = 1 << 20
            _ = setsockopt(fd.rawValue, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            _ = setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let pid = cshim_fork_session_leader()
        if pid < 0 {
            let failure = Errno(rawValue: errno)
            try? local.close(); try? peer.close()
            throw SSHSessionError("fork: \(failure)")
        }
        if pid == 0 {
            _ = dup2(peer.rawValue, 0)
            _ = dup2(peer.rawValue, 1)
            cshim_closefrom(3)  // the SSH socket, the other channels' descriptors
            body()
            _exit(0)
        }
        try? peer.close()
        try? Socket.setNonBlocking(local)
        return LaunchedChild(pid: pid, input: local, output: local, errorOutput: nil, isTerminal: false, isSocket: true)
    }

    /// Signals the child's whole process group (grandchildren such as `sleep 30 &` too).
    static func signalGroup(_ pgid: pid_t, _ signal: Int32) {
        if pgid > 1 { _ = kill(-pgid, signal) }
    }
}

/// A NULL-terminated `char *[]` built before fork, freed after.
final class CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointers = .allocate(capacity: strings.count + 1)
        for (i, s) in strings.enumerated() { pointers[i] = strdup(s) }
        pointers[strings.count] = nil
    }

    deinit {
        for i in 0..<count { free(pointers[i]) }
        pointers.deallocate()
    }
}
