import CLibSSH
import CShims
import ConvergeNet
import ConvergeWire
import Glibc

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

    let configuration: SSHServerConfiguration
    var shellEnvironment: ShellEnvironment { configuration.environment }
    var sftpServer: () -> Void { configuration.sftpServer }

    private let socket: Int32
    private var session: OpaquePointer?
    private var bind: OpaquePointer?
    private var event: OpaquePointer?
    private var serverInstallation: UnsafeMutableRawPointer?
    private var signalFD: Int32 = -1
    /// Once ssh_bind_accept_fd succeeded, ssh_free closes the socket; before, we do.
    private var libsshOwnsSocket = false
    private var control: (fd: Int32, handler: (SSHServerSession) -> Void)?

    private var throttle: AuthThrottle
    private(set) var user: String?
    private var loginTime = 0.0
    private var loginDeadline = 0.0
    /// Set when this side decides to end the connection (limits, agent request).
    private var endReason: String?
    private var endWhenIdle: Double?

    private var channels: [ServedChannel] = []
    private var channelCount = 0
    /// Children not reaped yet; every process group we created (for the final kill).
    private var running: Set<pid_t> = []
    private var groups: Set<pid_t> = []
    /// One read buffer for all pumps: big reads keep bulk transfers fast.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)

    enum ServedChannel {
        case session(SessionChannel)
        case forward(ForwardChannel)

        var pump: ChannelPump {
            switch self {
            case .session(let c): return c.pump
            case .forward(let c): return c.pump
            }
        }
    }

    public init(socket: Int32, configuration: SSHServerConfiguration) {
        self.socket = socket
        self.configuration = configuration
        throttle = AuthThrottle(maxFailures: configuration.maxAuthFailures)
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
        do {
            try setUp()
        } catch {
            log("closing before login: \(error)")
            return
        }
        loop()
    }

    private func setUp() throws(SSHSessionError) {
        _ = ssh_init()
        _ = signal(SIGPIPE, SIG_IGN)  // a vanished child must give EPIPE, not kill us
        signalFD = cshim_signal_pipe()
        guard signalFD >= 0 else { throw SSHSessionError("cannot watch signals: \(Descriptor.errorText(errno))") }
        _ = cshim_set_child_subreaper()
        if configuration.libsshVerbosity > 0 { _ = ssh_set_log_level(configuration.libsshVerbosity) }

        guard let bind = ssh_bind_new() else { throw SSHSessionError("ssh_bind_new failed") }
        self.bind = bind
        var processConfig = false  // never read /etc/ssh/libssh_server_config
        _ = ssh_bind_options_set(bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &processConfig)
        guard let key = configuration.hostKey.copyForBind(),
              ssh_bind_options_set(bind, SSH_BIND_OPTIONS_IMPORT_KEY, UnsafeRawPointer(key)) == SSH_OK else {
            throw SSHSessionError("cannot load the host key")
        }
        guard let session = ssh_new() else { throw SSHSessionError("ssh_new failed") }
        self.session = session

        var handlers = SSHServerSession.serverHandlers(context: Unmanaged.passUnretained(self).toOpaque())
        serverInstallation = cshim_ssh_install_server_callbacks(UnsafeMutableRawPointer(session), &handlers)
        guard serverInstallation != nil else { throw SSHSessionError("cannot install libssh callbacks") }
        guard ssh_bind_accept_fd(bind, session, socket) == SSH_OK else {
            throw SSHSessionError("accept: \(String(cString: ssh_get_error(UnsafeMutableRawPointer(bind))))")
        }
        libsshOwnsSocket = true
        var timeout: Int = 30  // key exchange must finish in this time
        _ = ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &timeout)
        var methods: Int32 = 0
        if configuration.auth.offersPassword { methods |= Int32(SSH_AUTH_METHOD_PASSWORD) }
        if configuration.auth.offersPublicKey { methods |= Int32(SSH_AUTH_METHOD_PUBLICKEY) }
        ssh_set_auth_methods(session, methods)
        guard ssh_handle_key_exchange(session) == SSH_OK else {
            throw SSHSessionError("key exchange failed: \(String(cString: ssh_get_error(UnsafeMutableRawPointer(session))))")
        }
        ssh_set_blocking(session, 0)
        guard let event = ssh_event_new() else { throw SSHSessionError("ssh_event_new failed") }
        self.event = event
        guard ssh_event_add_session(event, session) == SSH_OK else { throw SSHSessionError("ssh_event_add_session failed") }
        loginDeadline = Clock.monotonic() + configuration.loginGraceSeconds
    }

    /// What one poll entry stands for.
    private enum Target {
        case session, signals, control
        case input(ChannelPump)
        case output(ChannelPump, Int)
        case connecting(ForwardChannel)
    }

    private func loop() {
        guard let session, let event else { return }
        let sessionFD = ssh_get_fd(session)
        var fds: [pollfd] = []
        var targets: [Target] = []
        while true {
            let now = Clock.monotonic()
            if endReason == nil && user == nil && now >= loginDeadline {
                endReason = "no login within \(Int(configuration.loginGraceSeconds))s (login grace time)"
            }
            if let deadline = endWhenIdle, channels.isEmpty || now >= deadline { endReason = endReason ?? "closed by the agent" }
            if endReason != nil || !isConnected(session) { break }

            fds.removeAll(keepingCapacity: true)
            targets.removeAll(keepingCapacity: true)
            let writePending = ssh_get_poll_flags(session) & SSH_WRITE_PENDING != 0
            fds.append(pollfd(fd: sessionFD, events: Int16(POLLIN) | (writePending ? Int16(POLLOUT) : 0), revents: 0))
            targets.append(.session)
            fds.append(pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0))
            targets.append(.signals)
            if let control {
                fds.append(pollfd(fd: control.fd, events: Int16(POLLIN), revents: 0))
                targets.append(.control)
            }
            var wake: Double? = user == nil ? loginDeadline : endWhenIdle
            for served in channels {
                let pump = served.pump
                if case .forward(let forward) = served, forward.connectingFD >= 0 {
                    fds.append(pollfd(fd: forward.connectingFD, events: Int16(POLLOUT), revents: 0))
                    targets.append(.connecting(forward))
                    continue
                }
                if pump.wantsInputWritable {
                    fds.append(pollfd(fd: pump.inputFD, events: Int16(POLLOUT), revents: 0))
                    targets.append(.input(pump))
                }
                for index in pump.outputs.indices where pump.wantsOutputReadable(index) {
                    fds.append(pollfd(fd: pump.outputs[index].fd, events: Int16(POLLIN), revents: 0))
                    targets.append(.output(pump, index))
                }
                if case .session(let channel) = served, let deadline = channel.wakeDeadline {
                    wake = min(wake ?? deadline, deadline)
                }
            }
            let timeout: Int32 = wake.map { Int32(max(0, min(60_000, ($0 - now) * 1000 + 1))) } ?? -1
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                endReason = "poll failed: \(Descriptor.errorText(errno))"
                break
            }
            // libssh first: its callbacks may change what the other entries mean.
            if fds[0].revents != 0 {
                if ssh_event_dopoll(event, 0) == SSH_ERROR && !isConnected(session) { break }
            }
            for (entry, target) in zip(fds, targets) where entry.revents != 0 {
                switch target {
                case .session:
                    break
                case .signals:
                    if let stop = readSignals().first(where: { $0 != SIGCHLD }) {
                        endReason = "stopped by SIG\(SignalNames.name(of: stop))"
                    }
                    reapChildren()
                case .control:
                    if let control { control.handler(self) }
                case .input(let pump):
                    pump.flushToLocal(scratch: scratch)
                case .output(let pump, let index):
                    pump.pumpOutput(index, scratch: scratch)
                case .connecting(let forward):
                    forward.connectProgressed()
                }
            }
            housekeeping(now: Clock.monotonic())
        }
    }

    private func isConnected(_ session: OpaquePointer) -> Bool {
        ssh_get_status(session) & (SSH_CLOSED | SSH_CLOSED_ERROR) == 0 && ssh_is_connected(session) != 0
    }

    private func housekeeping(now: Double) {
        var anyReleased = false
        for served in channels {
            let done: Bool
            switch served {
            case .session(let channel): done = channel.housekeeping(now: now)
            case .forward(let channel): done = channel.housekeeping()
            }
            anyReleased = anyReleased || done
        }
        if anyReleased {
            channels.removeAll {
                switch $0 {
                case .session(let c): return c.released
                case .forward(let c): return c.released
                }
            }
        }
    }

    // MARK: children

    func childStarted(_ pid: pid_t) {
        running.insert(pid)
        groups.insert(pid)
    }

    /// The signals delivered since the last call (SIGCHLD, or a request to stop).
    private func readSignals() -> [Int32] {
        var signals: [Int32] = []
        var bytes = [UInt8](repeating: 0, count: 64)
        while true {
            let n = read(signalFD, &bytes, bytes.count)
            if n <= 0 { break }
            signals += bytes[0..<n].map { Int32($0) }
        }
        return signals
    }

    private func reapChildren() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            // Orphaned grandchildren come here too (we are their subreaper): just reaped.
            guard running.remove(pid) != nil else { continue }
            let exit = ChildExit(waitStatus: status)
            for case .session(let channel) in channels where channel.pid == pid { channel.childExited(exit) }
        }
    }

    /// SIGHUP to every process group we created, a short grace, then SIGKILL, and reap.
    private func endChildren() {
        guard !groups.isEmpty else { return }
        for group in groups { ChildLauncher.signalGroup(group, SIGHUP) }
        let deadline = Clock.monotonic() + configuration.killGraceSeconds
        while !running.isEmpty {
            let left = deadline - Clock.monotonic()
            if left <= 0 { break }
            var entry = pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&entry, 1, Int32(left * 1000) + 1)
            _ = readSignals()
            reapChildren()
        }
        for group in groups { ChildLauncher.signalGroup(group, SIGKILL) }
        for pid in running {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        running.removeAll()
        var status: Int32 = 0
        while waitpid(-1, &status, WNOHANG) > 0 {}
    }

    private func tearDown() {
        for served in channels {
            switch served {
            case .session(let channel): channel.abandon()
            case .forward(let channel): channel.abandon()
            }
        }
        channels.removeAll()
        if let user {
            let seconds = Clock.monotonic() - loginTime
            log("logout: user \"\(LogText.escaped(user))\" after \(Int(seconds))s\(endReason.map { " (\($0))" } ?? "")")
            onEvent?(.loggedOut(user: user, seconds: seconds))
        } else if let endReason {
            log("disconnecting: \(endReason)")
        }
        endChildren()
        if let event, let session { _ = ssh_event_remove_session(event, session) }
        if let event { ssh_event_free(event) }
        if let session, libsshOwnsSocket {
            closeGracefully(session)
        }
        if let session { ssh_free(session) }
        if !libsshOwnsSocket { _ = close(socket) }
        if let serverInstallation { cshim_ssh_free_server_callbacks(serverInstallation) }
        if let bind { ssh_bind_free(bind) }
        event = nil
        session = nil
        bind = nil
        serverInstallation = nil
    }

    /// When this side ends the connection, the client may still be sending (another
    /// auth attempt): closing at once would reset the connection and lose our
    /// SSH_MSG_DISCONNECT. So half-close a duplicate of the socket and drain briefly.
    private func closeGracefully(_ session: OpaquePointer) {
        let fd = ssh_get_fd(session)
        let keep = endReason != nil && fd >= 0 && isConnected(session) ? dup(fd) : -1
        ssh_disconnect(session)
        guard keep >= 0 else { return }
        _ = shutdown(keep, Int32(SHUT_WR))
        let deadline = Clock.monotonic() + 0.5
        drain: while Clock.monotonic() < deadline {
            var entry = pollfd(fd: keep, events: Int16(POLLIN), revents: 0)
            if poll(&entry, 1, 100) <= 0 { continue }
            switch Descriptor.read(keep, into: scratch) {
            case .done, .wouldBlock: continue
            case .endOfFile, .failed: break drain
            }
        }
        _ = close(keep)
    }

    // MARK: agent controls

    /// Writes `text` to the stdout of every open shell and command (not sftp), after
    /// what is already queued there. For warnings such as an approaching expiry.
    public func broadcast(_ text: String) {
        for case .session(let channel) in channels { channel.announce(Array(text.utf8)) }
    }

    /// Sends `message` (if any) to every shell and command, closes every channel, and
    /// ends the connection once they are closed (or after `graceSeconds`).
    public func closeAll(message: String?, graceSeconds: Double = 5) {
        let bytes = message.map { Array($0.utf8) }
        for served in channels {
            switch served {
            case .session(let channel): channel.closeWithMessage(bytes)
            case .forward(let channel): channel.release()
            }
        }
        endWhenIdle = Clock.monotonic() + graceSeconds
    }

    /// Ends the connection at the next turn of the loop.
    public func disconnect(reason: String) {
        endReason = reason
    }

    // MARK: authentication (libssh callbacks)

    func authenticate(user: String, password: String) -> Int32 {
        switch configuration.auth.checkPassword(user: user, password: password) {
        case .accepted(let method):
            loggedIn(user: user, method: method, key: nil)
            return Int32(SSH_AUTH_SUCCESS.rawValue)
        case .rejected(let reason):
            authFailed(user: user, method: "password", key: nil, reason: reason, isGuess: true)
            return Int32(SSH_AUTH_DENIED.rawValue)
        }
    }

    func authenticate(user: String, key: OpaquePointer?, signatureState: Int32) -> Int32 {
        let denied = Int32(SSH_AUTH_DENIED.rawValue)
        guard let key, let offered = ClientKey(key) else {
            authFailed(user: user, method: "publickey", key: nil, reason: "unreadable key", isGuess: false)
            return denied
        }
        if signatureState == SSH_PUBLICKEY_STATE_WRONG.rawValue || signatureState == SSH_PUBLICKEY_STATE_ERROR.rawValue {
            authFailed(user: user, method: "publickey", key: offered, reason: "bad signature", isGuess: true)
            return denied
        }
        switch configuration.auth.checkKey(type: offered.type, blob: offered.blob) {
        case .rejected(let reason):
            authFailed(user: user, method: "publickey", key: offered, reason: reason, isGuess: false)
            return denied
        case .accepted(let authorized):
            // NONE is the client asking whether we would take this key (answer: PK_OK);
            // only VALID (a verified signature) logs in.
            guard signatureState == SSH_PUBLICKEY_STATE_VALID.rawValue else { return Int32(SSH_AUTH_SUCCESS.rawValue) }
            loggedIn(user: user, method: .publicKey, key: offered, comment: authorized.comment)
            return Int32(SSH_AUTH_SUCCESS.rawValue)
        }
    }

    private func loggedIn(user: String, method: SSHAuthMethod, key: ClientKey?, comment: String = "") {
        self.user = user
        loginTime = Clock.monotonic()
        let keyText = key.map { " key \($0.type) \($0.fingerprint)" + (comment.isEmpty ? "" : " (\(LogText.escaped(comment, limit: 80)))") } ?? ""
        log("login: user \"\(LogText.escaped(user))\" method \(method)\(keyText)")
        onEvent?(.loggedIn(user: user, method: method, keyFingerprint: key?.fingerprint))
    }

    private func authFailed(user: String, method: String, key: ClientKey?, reason: String, isGuess: Bool) {
        let delay = throttle.recordFailure(isGuess: isGuess)
        let keyText = key.map { " key \(LogText.escaped($0.type)) \($0.fingerprint)" } ?? ""
        log("login failed: user \"\(LogText.escaped(user))\" method \(method)\(keyText): \(reason) (failure \(throttle.failures) of \(throttle.maxFailures))")
        onEvent?(.loginFailed(user: user, method: method, reason: reason))
        if throttle.isExhausted {
            endReason = "too many authentication failures (limit \(throttle.maxFailures), MaxAuthTries)"
        } else if delay > 0 {
            // Blocks this connection's process only, and only before login.
            usleep(UInt32(delay * 1_000_000))
        }
    }

    // MARK: channels (libssh callbacks)

    func openSessionChannel() -> OpaquePointer? {
        guard user != nil, let session else { return nil }
        guard channels.count < configuration.maxChannels else {
            log("refusing a channel: \(configuration.maxChannels) open (channel limit)")
            return nil
        }
        guard let channel = ssh_channel_new(session) else { return nil }
        channelCount += 1
        let served = SessionChannel(server: self, channel: channel, number: channelCount)
        var handlers = SessionChannel.handlers(context: Unmanaged.passUnretained(served).toOpaque())
        guard let installation = cshim_ssh_install_channel_callbacks(UnsafeMutableRawPointer(channel), &handlers) else {
            ssh_channel_free(channel)
            return nil
        }
        served.installation = installation
        channels.append(.session(served))
        return channel
    }

    /// Messages no other callback took: direct-tcpip opens are ours; anything else
    /// (x11, agent forwarding, tcpip-forward, keepalives) gets libssh's refusal.
    func handleMessage(_ message: OpaquePointer) -> Int32 {
        let defaultReply: Int32 = 1
        guard user != nil,
              ssh_message_type(message) == Int32(SSH_REQUEST_CHANNEL_OPEN.rawValue),
              ssh_message_subtype(message) == Int32(SSH_CHANNEL_DIRECT_TCPIP.rawValue) else { return defaultReply }
        guard channels.count < configuration.maxChannels else {
            log("refusing a forward: \(configuration.maxChannels) channels open (channel limit)")
            return defaultReply
        }
        let host = ssh_message_channel_request_open_destination(message).map { String(cString: $0) } ?? ""
        let port = Int(ssh_message_channel_request_open_destination_port(message))
        let target = "\(LogText.escaped(host, limit: 100)):\(port)"
        var (connector, progress) = TCPConnector.start(host: host, port: port)
        progress = connector.settle(progress, milliseconds: 50)
        if case .failed(let reason) = progress {
            log("forward to \(target) refused: \(reason)")
            return defaultReply  // SSH_MSG_CHANNEL_OPEN_FAILURE
        }
        guard let channel = ssh_message_channel_request_open_reply_accept(message) else {
            if case .connected(let fd) = progress { _ = close(fd) }
            if case .inProgress(let fd) = progress { _ = close(fd) }
            return 0
        }
        channelCount += 1
        let forward = ForwardChannel(server: self, channel: channel, number: channelCount, target: target,
                                     connector: connector, progress: progress)
        var handlers = ForwardChannel.handlers(context: Unmanaged.passUnretained(forward).toOpaque())
        forward.installation = cshim_ssh_install_channel_callbacks(UnsafeMutableRawPointer(channel), &handlers)
        channels.append(.forward(forward))
        log("channel \(channelCount): forward to \(target)")
        return 0
    }
}

/// The client's public key as offered during authentication.
struct ClientKey {
    let type: String
    let blob: [UInt8]
    let fingerprint: String

    init?(_ key: OpaquePointer) {
        guard let name = ssh_key_type_to_char(ssh_key_type(key)) else { return nil }
        var encoded: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_pubkey_base64(key, &encoded) == SSH_OK, let encoded else { return nil }
        defer { ssh_string_free_char(encoded) }
        guard let blob = Base64.decode(String(cString: encoded)) else { return nil }
        type = String(cString: name)
        self.blob = blob
        fingerprint = KeyFingerprint.sha256(blob)
    }
}
