import CLibSSH
import CShims
import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// One SSH connection on a connected socket, from key exchange to the last channel, in
/// one poll loop. Runs in a single-threaded process of its own (it forks children).
///
///     let session = SSHServerSession(socket: fd, configuration: config)
///     session.onEvent = { event in ... }
///     session.watch(fd: control) { session in ... session.broadcast("...") }
///     session.run()   // returns when the client is gone and every child is reaped
///
/// The session owns `socket` (libssh closes it).
public final class SSHServerSession {
    public var onEvent: ((SSHSessionEvent) -> Void)?
    /// Text written to every shell (not commands, not sftp) when it starts, e.g. the
    /// agent's lifecycle notice.
    public var shellGreeting: (() -> String?)?
    /// Called with the reason when login_grace_time ends a connection (after the key
    /// exchange), just before the SSH disconnect goes out: a person may be sitting at a
    /// password prompt, where ssh shows neither.
    public var onLoginGraceExpired: ((String) -> Void)?
    /// Called once per turn of the loop in which the client sent channel data (typing,
    /// sftp requests, forwarded bytes), with that turn's monotonic time.
    public var onActivity: ((Double) -> Void)?
    /// Set by the channels' data callbacks: one store per callback, nothing per byte.
    var clientSent = false

    let configuration: SSHServerConfiguration
    var shellEnvironment: ShellEnvironment { configuration.environment }
    var sftpServer: () -> Void { configuration.sftpServer }

    private let socket: Int32
    private var connection: SSHServerConnection?
    var session: OpaquePointer? { connection?.session }
    private var signals: SignalPipe?
    private var control: (fd: Int32, handler: (SSHServerSession) -> Void)?

    var throttle: AuthThrottle
    var user: String?
    /// The options of the authorized key this client logged in with (none for passwords).
    var keyOptions = KeyOptions()
    var loginTime = 0.0
    private var loginDeadline = 0.0
    /// Set when this side decides to end the connection (limits, agent request).
    var endReason: String?
    private var endWhenIdle: Double?
    private static let closedByAgent = "closed by the agent"

    var channels: [any ServedChannel] = []
    var channelCount = 0
    private var children = ChildRegistry()
    /// One read buffer for all pumps: big reads keep bulk transfers fast.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)

    public init(socket: Int32, configuration: SSHServerConfiguration) {
        self.socket = socket
        self.configuration = configuration
        throttle = AuthThrottle(maxFailures: configuration.maxAuthFailures, priorGuesses: configuration.priorGuesses)
    }

    deinit { scratch.deallocate() }

    /// Watches `fd` in the poll loop and calls `onReadable` when it is readable (or hung
    /// up). The handler must read from it, or it is called again at once.
    public func watch(fd: Int32, onReadable: @escaping (SSHServerSession) -> Void) {
        control = (fd, onReadable)
    }

    func log(_ message: String) {
        configuration.log.write("\(configuration.label): \(message)")
    }

    // MARK: running

    public func run() {
        defer { tearDown() }
        loginDeadline = Clock.monotonic() + configuration.loginGraceSeconds
        do {
            try setUp()
        } catch {
            let late = Clock.monotonic() >= loginDeadline ? " (\(graceExpired))" : ""
            log("closing before login: \(error)\(late)")
            return
        }
        if let refusal = configuration.refusal { endReason = refusal }
        loop()
    }

    private func setUp() throws(SSHSessionError) {
        if configuration.libsshVerbosity > 0 { _ = ssh_set_log_level(configuration.libsshVerbosity) }
        var methods: Int32 = 0
        if configuration.auth.offersPassword { methods |= Int32(SSH_AUTH_METHOD_PASSWORD) }
        if configuration.auth.offersPublicKey { methods |= Int32(SSH_AUTH_METHOD_PUBLICKEY) }
        let connection = try SSHServerConnection.accept(
            socket: socket, hostKey: configuration.hostKey,
            handlers: SSHServerSession.serverHandlers(context: Unmanaged.passUnretained(self).toOpaque()), authMethods: methods)
        self.connection = connection
        _ = signal(SIGPIPE, SIG_IGN)  // a vanished child must give EPIPE, not kill us
        signals = try SignalPipe()
        _ = cshim_set_child_subreaper()
        // The key exchange must finish in this time, and within the login grace time.
        var timeout = max(1, min(30, Int(configuration.loginGraceSeconds.rounded(.up))))
        _ = ssh_options_set(connection.session, SSH_OPTIONS_TIMEOUT, &timeout)
        guard ssh_handle_key_exchange(connection.session) == SSH_OK else {
            throw SSHSessionError("key exchange failed: \(String(cString: ssh_get_error(UnsafeMutableRawPointer(connection.session))))")
        }
        try connection.startEvents()
    }

    private var graceExpired: String {
        "no login within \(DurationText.of(configuration.loginGraceSeconds)) (limit: login_grace_time)"
    }

    /// What one poll entry stands for.
    private enum Target {
        case session, signals, control
        case input(ChannelPump)
        case output(ChannelPump, Int)
        case connecting(any ServedChannel)
    }

    private func loop() {
        guard let connection else { return }
        let sessionFD = connection.fd
        var fds: [pollfd] = []
        var targets: [Target] = []
        while true {
            let now = Clock.monotonic()
            if endReason == nil && user == nil && now >= loginDeadline {
                endReason = graceExpired
            }
            // Once its channels are closed, the client writes out what it received and
            // leaves by itself; only a client that stays is disconnected, at the deadline.
            // Sooner, our disconnect could overtake that output: OpenSSH's ssh drops what
            // it has not yet written to its stdout when a disconnect arrives.
            if let deadline = endWhenIdle, now >= deadline { endReason = endReason ?? Self.closedByAgent }
            if endReason != nil || !connection.isConnected { break }

            fds.removeAll(keepingCapacity: true)
            targets.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: sessionFD, events: Int16(POLLIN) | (connection.writePending ? Int16(POLLOUT) : 0), revents: 0))
            targets.append(.session)
            fds.append(pollfd(fd: signals?.fd.rawValue ?? -1, events: Int16(POLLIN), revents: 0))
            targets.append(.signals)
            if let control {
                fds.append(pollfd(fd: control.fd, events: Int16(POLLIN), revents: 0))
                targets.append(.control)
            }
            var wake = [user == nil ? loginDeadline : nil, endWhenIdle].compactMap { $0 }.min()
            for served in channels {
                if let connecting = served.pendingConnect {
                    fds.append(pollfd(fd: connecting.rawValue, events: Int16(POLLOUT), revents: 0))
                    targets.append(.connecting(served))
                    continue
                }
                let pump = served.pump
                if pump.wantsInputWritable, let input = pump.inputFD {
                    fds.append(pollfd(fd: input.rawValue, events: Int16(POLLOUT), revents: 0))
                    targets.append(.input(pump))
                }
                for index in pump.outputs.indices where pump.wantsOutputReadable(index) {
                    fds.append(pollfd(fd: pump.outputs[index].fd.rawValue, events: Int16(POLLIN), revents: 0))
                    targets.append(.output(pump, index))
                }
                if let deadline = served.wakeDeadline {
                    wake = min(wake ?? deadline, deadline)
                }
            }
            let timeout: Int32 = wake.map { Int32(max(0, min(60_000, ($0 - now) * 1000 + 1))) } ?? -1
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                endReason = "poll failed: \(Errno(rawValue: errno))"
                break
            }
            // libssh first: its callbacks may change what the other entries mean.
            if fds[0].revents != 0 && !connection.dispatch() { break }
            for (entry, target) in zip(fds, targets) where entry.revents != 0 {
                switch target {
                case .session:
                    break
                case .signals:
                    if let stop = signals?.drain().first(where: { $0 != SIGCHLD }) {
                        endReason = "stopped by SIG\(SignalNames.name(of: stop))"
                    }
                    reapChildren()
                case .control:
                    if let control { control.handler(self) }
                case .input(let pump):
                    pump.flushToLocal(scratch: scratch)
                case .output(let pump, let index):
                    pump.pumpOutput(index, scratch: scratch)
                case .connecting(let served):
                    served.connectProgressed()
                }
            }
            if clientSent {
                clientSent = false
                onActivity?(now)
            }
            housekeeping(now: Clock.monotonic())
        }
    }

    private func housekeeping(now: Double) {
        var anyReleased = false
        for served in channels {
            let done = served.housekeeping(now: now)
            anyReleased = anyReleased || done
        }
        if anyReleased { channels.removeAll { $0.released } }
    }

    // MARK: children

    func childStarted(_ pid: pid_t) { children.started(pid) }

    private func reapChildren() {
        for (pid, exit) in children.reap() {
            for served in channels { served.childExited(pid: pid, exit) }
        }
    }

    private func tearDown() {
        for served in channels { served.abandon() }
        channels.removeAll()
        let why = endReason ?? (endWhenIdle != nil ? Self.closedByAgent : nil)
        if let user {
            let seconds = Clock.monotonic() - loginTime
            log("logout: user \"\(LogText.escaped(user))\" after \(Int(seconds))s\(why.map { " (\($0))" } ?? "")")
            onEvent?(.loggedOut(user: user, seconds: seconds))
        } else if let why {
            log("disconnecting: \(why)")
            if why == graceExpired { onLoginGraceExpired?(why) }
        }
        if let signals { children.endAll(grace: configuration.killGraceSeconds, signals: signals) }
        if let connection {
            closeGracefully(connection)
            connection.close()
        }
        connection = nil
    }

    /// When this side ends the connection, the client may still be sending (another
    /// auth attempt) before it reads our SSH_MSG_DISCONNECT. Our socket leads to a
    /// WebSocket, which has no half-close: closing (or half-closing) it ends the client's
    /// wsproxy, whose closed pipe then fails ssh's next write ("Broken pipe") before ssh
    /// reads the message. So keep a duplicate of the socket open and drain it until the
    /// client, having read the message, goes away (or 2 s pass).
    private func closeGracefully(_ connection: SSHServerConnection) {
        let fd = connection.fd
        let keep = endReason != nil && fd >= 0 && connection.isConnected ? try? FileDescriptor(rawValue: fd).duplicate() : nil
        connection.disconnect(message: endReason)
        guard let keep else { return }
        defer { try? keep.close() }
        let deadline = Clock.monotonic() + 2
        drain: while Clock.monotonic() < deadline {
            var entry = pollfd(fd: keep.rawValue, events: Int16(POLLIN), revents: 0)
            if poll(&entry, 1, 100) <= 0 { continue }
            do {
                if try keep.read(into: scratch) == 0 { break drain }
            } catch Errno.wouldBlock {
                continue
            } catch {
                break drain  // EIO and the like: the client is gone all the same
            }
        }
    }

    // MARK: agent controls

    /// Writes `text` to the stdout of every open shell and command (not sftp), after
    /// what is already queued there. For warnings such as an approaching expiry.
    public func broadcast(_ text: String) {
        for served in channels { served.announce(Array(text.utf8)) }
    }

    /// Like `broadcast`, to shells only: a command's stdout stays byte-exact.
    public func broadcastToShells(_ text: String) {
        for served in channels where served.isShell { served.announce(Array(text.utf8)) }
    }

    /// Sends `message` (if any) to every shell and command, closes every channel, and
    /// lets the client end the connection; disconnects it after `graceSeconds` if not.
    public func closeAll(message: String?, graceSeconds: Double = 5) {
        let bytes = message.map { Array($0.utf8) }
        for served in channels { served.closeForShutdown(message: bytes) }
        endWhenIdle = Clock.monotonic() + graceSeconds
    }

    /// Ends the connection at the next turn of the loop.
    public func disconnect(reason: String) {
        endReason = reason
    }
}
