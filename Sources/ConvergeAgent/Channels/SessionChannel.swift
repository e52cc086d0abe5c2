import CLibSSH
import CShims
import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// A `session` channel: pty-req, env, window-change, then one of shell, exec or the sftp
/// subsystem, whose child it pumps; at the end exit-status (or exit-signal), EOF, close.
final class SessionChannel: ServedChannel {
    enum Program: Equatable {
        case shell
        case exec(String)
        case sftp

        var logName: String {
            switch self {
            case .shell: return "shell"
            case .exec(let command): return "exec \"\(LogText.escaped(command, limit: 120))\""
            case .sftp: return "sftp"
            }
        }
    }

    unowned let server: SSHServerSession
    let pump: ChannelPump
    let number: Int
    var installation: UnsafeMutableRawPointer?

    private var terminal: (term: String, size: WindowSize)?
    private var clientEnvironment: [(String, String)] = []
    private(set) var program: Program?
    private(set) var pid: pid_t = 0
    private var ptyMaster: FileDescriptor?
    private(set) var exit: ChildExit?
    /// When a pty's shell has exited, when to stop waiting for the terminal to close (a
    /// background job may keep it open) and end once no output is waiting.
    private var drainDeadline: Double?
    /// Set by the agent (closeAll): close once the queued message has been sent.
    private var closing = false
    /// A pty was asked for and the key's options refused it: said on stderr at start.
    private var refusedPty: String?
    private(set) var released = false

    static let maxEnvironmentEntries = 64

    init(server: SSHServerSession, channel: OpaquePointer, number: Int) {
        self.server = server
        self.pump = ChannelPump(channel: channel)
        self.number = number
    }

    var channel: OpaquePointer { pump.channel }
    var isTerminal: Bool { ptyMaster != nil }
    /// Shells and commands receive agent announcements; sftp does not (it would corrupt it).
    var takesAnnouncements: Bool { program != nil && program != .sftp && !released }

    // MARK: requests (libssh callbacks: record, answer, never close descriptors here)

    func ptyRequest(term: String, cols: Int32, rows: Int32, xpixel: Int32, ypixel: Int32) -> Int32 {
        guard program == nil else { return -1 }
        if let option = server.keyOptions.deniedBy[.pty] {
            server.log("channel \(number): pty refused (key option \(option))")
            refusedPty = option
            return -1  // ssh prints "PTY allocation request failed"
        }
        terminal = (term, WindowSize(cols: cols, rows: rows, xpixel: xpixel, ypixel: ypixel))
        return 0
    }

    func windowChange(cols: Int32, rows: Int32, xpixel: Int32, ypixel: Int32) -> Int32 {
        guard let current = terminal else { return -1 }
        let size = WindowSize(cols: cols, rows: rows, xpixel: xpixel, ypixel: ypixel)
        terminal = (current.term, size)
        if let ptyMaster { _ = cshim_set_winsize(ptyMaster.rawValue, size.rows, size.cols, size.xpixel, size.ypixel) }
        return 0
    }

    func environmentRequest(name: String, value: String) -> Int32 {
        guard program == nil, ShellEnvironment.clientMaySet(name), clientEnvironment.count < SessionChannel.maxEnvironmentEntries,
              !name.contains("="), !name.contains("\0"), !value.contains("\0") else { return 1 }
        clientEnvironment.removeAll { $0.0 == name }
        clientEnvironment.append((name, value))
        return 0
    }

    func signalRequest(name: String) {
        guard pid > 0, exit == nil, let signal = SignalNames.number(named: name) else { return }
        ChildLauncher.signalGroup(pid, signal)
    }

    func start(_ requested: Program) -> Int32 {
        guard self.program == nil else { return 1 }
        let environment = server.shellEnvironment
        var overrides = clientEnvironment
        if let terminal {
            overrides.removeAll { $0.0 == "TERM" }
            overrides.append(("TERM", terminal.term.isEmpty ? "xterm" : terminal.term))
        }
        if server.configuration.permitUserEnvironment {
            for entry in server.keyOptions.environment {
                overrides.removeAll { $0.0 == entry.name }
                overrides.append((entry.name, entry.value))
            }
        }
        let program = ForcedCommand.program(for: requested, forced: server.keyOptions.command)
        if program != requested {
            server.log("channel \(number): \(requested.logName) replaced by key option command= (\(program.logName))")
            if let original = ForcedCommand.originalCommand(of: requested) {
                overrides.removeAll { $0.0 == "SSH_ORIGINAL_COMMAND" }
                overrides.append(("SSH_ORIGINAL_COMMAND", original))
            }
        }
        let child: LaunchedChild
        do {
            switch program {
            case .shell:
                child = try ChildLauncher.launch(path: environment.shell, arguments: environment.shellArguments(),
                                                 environment: environment.environment(overriding: overrides), terminal: terminal?.size)
            case .exec(let command):
                child = try ChildLauncher.launch(path: environment.shell, arguments: environment.commandArguments(command),
                                                 environment: environment.environment(overriding: overrides), terminal: terminal?.size)
            case .sftp:
                child = try ChildLauncher.launchInProcess(server.sftpServer)
            }
        } catch {
            server.log("channel \(number): cannot start \(program.logName): \(error)")
            return 1
        }
        self.program = program
        pid = child.pid
        if child.isTerminal { ptyMaster = child.input }
        let end: ChannelPump.InputEnd = child.isTerminal ? .keepOpen : child.isSocket ? .shutdownWrite : .close
        var outputs: [(fd: FileDescriptor, isStderr: Bool)] = [(child.output, false)]
        if let errorOutput = child.errorOutput { outputs.append((errorOutput, true)) }
        pump.attach(input: child.input, end: end, outputs: outputs, owned: [child.input, child.output] + (child.errorOutput.map { [$0] } ?? []))
        server.childStarted(pid)
        let tty = terminal.map { " on a pty \($0.size.cols)x\($0.size.rows)" } ?? ""
        server.log("channel \(number): \(program.logName)\(tty), pid \(pid)")
        if let option = refusedPty {
            let text = Array("converge: no terminal for this key (its authorized_keys option \(option))\r\n".utf8)
            _ = text.withUnsafeBytes { ssh_channel_write_stderr(channel, $0.baseAddress, UInt32($0.count)) }
        }
        if program == .shell, let greeting = server.shellGreeting?() { announce(Array(greeting.utf8)) }
        return 0
    }

    // MARK: lifecycle (session loop)

    func childExited(pid: pid_t, _ status: ChildExit) {
        guard pid == self.pid else { return }
        exit = status
        if isTerminal { drainDeadline = Clock.monotonic() + 0.25 }
    }

    /// A deadline the poll loop must wake up for, if any.
    var wakeDeadline: Double? { exit != nil && !pump.outputsFinished ? drainDeadline : nil }

    var isShell: Bool { program == .shell }

    func closeForShutdown(message bytes: [UInt8]?) {
        if let bytes, takesAnnouncements { announce(bytes) }
        closing = true
    }

    func announce(_ bytes: [UInt8]) {
        guard takesAnnouncements else { return }
        var text = bytes
        if isTerminal {  // a raw-mode terminal needs CR LF
            text = []
            for b in bytes {
                if b == UInt8(ascii: "\n") { text.append(UInt8(ascii: "\r")) }
                text.append(b)
            }
        }
        pump.announce(text)
    }

    /// Advances the channel; returns true once it is released and can be dropped.
    func housekeeping(now: Double) -> Bool {
        if released { return true }
        if pump.clientGone {
            release(hangUp: true)
            return true
        }
        pump.flushToClient()
        pump.closeInputIfDue()
        if closing && !pump.hasPendingOutput {
            finish(reportExit: false)
            return true
        }
        // The end needs both: the child reaped and its output passed on (see the notes).
        guard exit != nil else { return false }
        if !pump.outputsFinished, let deadline = drainDeadline, now >= deadline, !pump.endIdleOutputs() {
            drainDeadline = now + 0.1  // still output to pass on (or no window): look again soon
        }
        if pump.outputsFinished {
            finish(reportExit: true)
            return true
        }
        return false
    }

    /// exit-status or exit-signal, EOF, close (the order OpenSSH clients expect).
    private func finish(reportExit: Bool) {
        detachCallbacks()
        if reportExit, let exit {
            switch exit {
            case .exited(let code):
                _ = ssh_channel_request_send_exit_status(channel, code)
            case .signaled(let signal):
                _ = ssh_channel_request_send_exit_signal(channel, SignalNames.name(of: signal), 0, "", "")
            }
            server.log("channel \(number): \(program?.logName ?? "channel") ended, \(SessionChannel.describe(exit))")
        }
        _ = ssh_channel_send_eof(channel)
        _ = ssh_channel_close(channel)
        release(hangUp: closing)
    }

    /// Frees the channel (libssh keeps it until the client's close arrives) and our
    /// descriptors; a child still running gets SIGHUP (SIGKILL follows at session end).
    func release(hangUp: Bool) {
        guard !released else { return }
        released = true
        detachCallbacks()
        if hangUp && pid > 0 && exit == nil { ChildLauncher.signalGroup(pid, SIGHUP) }
        ssh_channel_free(channel)
        pump.closeDescriptors()
        ptyMaster = nil
    }

    /// Leaves libssh's channel to ssh_free (the session is gone): only our side.
    func abandon() {
        guard !released else { return }
        released = true
        detachCallbacks()
        pump.closeDescriptors()
        ptyMaster = nil
    }

    private func detachCallbacks() {
        if let installation {
            cshim_ssh_remove_channel_callbacks(UnsafeMutableRawPointer(channel), installation)
            self.installation = nil
        }
    }

    static func describe(_ exit: ChildExit) -> String {
        switch exit {
        case .exited(let code): return "exit status \(code)"
        case .signaled(let signal): return "killed by SIG\(SignalNames.name(of: signal))"
        }
    }
}
