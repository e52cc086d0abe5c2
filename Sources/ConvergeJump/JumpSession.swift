internal import CLibSSH
import CShims
import ConvergeClient
import ConvergeNet
import ConvergeSSH
import ConvergeWire
import Glibc
import SystemPackage

/// One jump connection, in its own process: the outer SSH server (libssh) that lets
/// anyone in with the `none` method and grants only `direct-tcpip` channels, each
/// relayed to its agent by a `JumpChannel`. Everything else is refused with a reason.
/// Single-threaded; one poll loop until the client leaves.
final class JumpSession {
    private let socket: Int32
    private let peer: String
    private let settings: JumpSettings
    private let leg: JumpClientLeg
    private var connection: SSHServerConnection?
    private var session: OpaquePointer? { connection?.session }

    private var user: String?
    private var loginDeadline = 0.0
    private var lastHeard = 0.0
    private var lastKeepalive = 0.0
    /// Set when this side ends the connection; the client's ssh prints it.
    private var endReason: String?
    /// The agent ended the only channel's login with a reason: the disconnect carrying it
    /// goes out before anything closes the channel (a channel close first would end
    /// `ssh -W` before it reads the reason).
    private var disconnectFirst = false
    private var relays: [JumpChannel] = []
    private var helps: [JumpHelpChannel] = []
    private var channelCount = 0
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)

    init(socket: Int32, peer: String, leg: JumpClientLeg, settings: JumpSettings) {
        self.socket = socket
        self.peer = peer
        self.leg = leg
        self.settings = settings
    }

    deinit { scratch.deallocate() }

    private func log(_ message: String) {
        settings.log.write("\(peer) jump: \(message)")
    }

    /// Tells the master (best effort: it may be gone).
    private func report(_ report: JumpReport) {
        let line = Array(report.line.utf8)
        _ = line.withUnsafeBytes { send(leg.control, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
    }

    private func refuse(_ limit: String, _ message: String) {
        report(.refused(limit: limit))
        log("\(message) (limit: \(limit))")
    }

    // MARK: running

    func run() {
        defer { tearDown() }
        let start = Clock.monotonic()
        loginDeadline = start + settings.options.loginGraceTime
        lastHeard = start
        do {
            try setUp()
        } catch {
            if Clock.monotonic() >= loginDeadline {
                refuse("jump_login_grace_time", "closing: no SSH key exchange within \(Int(settings.options.loginGraceTime))s")
            } else {
                report(.refused(limit: "bad_ssh_handshake"))
                log("closing: \(error)")
            }
            return
        }
        loop()
    }

    private func setUp() throws(SSHSessionError) {
        let connection = try SSHServerConnection.accept(
            socket: socket, hostKey: settings.hostKey,
            handlers: serverHandlers(context: Unmanaged.passUnretained(self).toOpaque()), authMethods: Int32(SSH_AUTH_METHOD_NONE))
        self.connection = connection
        try exchangeKeys(connection.session)
        try connection.startEvents()
    }

    /// The banner and key exchange, non-blocking in our own poll so that every packet is
    /// acknowledged at once (see `Socket.acknowledgeNow`: OpenSSH sends its key exchange
    /// packets back to back, and a delayed ACK would cost 40 ms each), within the login
    /// grace time.
    private func exchangeKeys(_ session: OpaquePointer) throws(SSHSessionError) {
        ssh_set_blocking(session, 0)
        let fd = FileDescriptor(rawValue: socket)
        while true {
            Socket.acknowledgeNow(fd)
            switch ssh_handle_key_exchange(session) {
            case SSH_OK: return
            case SSH_AGAIN: break
            default: throw SSHSessionError("SSH key exchange failed: \(String(cString: ssh_get_error(UnsafeMutableRawPointer(session))))")
            }
            let left = loginDeadline - Clock.monotonic()
            guard left > 0 else { throw SSHSessionError("no SSH key exchange within \(Int(settings.options.loginGraceTime))s") }
            let writePending = ssh_get_poll_flags(session) & SSH_WRITE_PENDING != 0
            var entry = pollfd(fd: socket, events: Int16(POLLIN) | (writePending ? Int16(POLLOUT) : 0), revents: 0)
            _ = poll(&entry, 1, Int32(min(left * 1000 + 1, 1000)))
        }
    }

    private func loop() {
        guard let connection else { return }
        let session = connection.session
        let sessionFD = connection.fd
        var fds: [pollfd] = []
        var polled: [JumpChannel?] = []
        while true {
            let now = Clock.monotonic()
            if endReason == nil && user == nil && now >= loginDeadline {
                report(.refused(limit: "jump_login_grace_time"))
                endReason = "no login within \(Int(settings.options.loginGraceTime))s (limit: jump_login_grace_time)"
            }
            if endReason == nil && now - lastHeard >= settings.deadPeerTimeout {
                report(.refused(limit: "dead_peer_timeout"))
                endReason = "silent for \(Int(settings.deadPeerTimeout))s (limit: dead_peer_timeout)"
            }
            if endReason != nil || !connection.isConnected { break }
            if user != nil && now - max(lastHeard, lastKeepalive) >= settings.pingInterval {
                _ = ssh_send_keepalive(session)  // the client answers: a dead one is noticed
                lastKeepalive = now
            }

            fds.removeAll(keepingCapacity: true)
            polled.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: sessionFD, events: Int16(POLLIN) | (connection.writePending ? Int16(POLLOUT) : 0), revents: 0))
            polled.append(nil)
            for relay in relays where !relay.released {
                let events = relay.pollEvents
                guard events != 0 else { continue }
                fds.append(pollfd(fd: relay.stream.readFD.rawValue, events: events, revents: 0))
                polled.append(relay)
            }
            let wake = min(user == nil ? loginDeadline : .infinity, lastHeard + settings.deadPeerTimeout,
                           max(lastHeard, lastKeepalive) + settings.pingInterval)
            let timeout = Int32(max(0, min(5_000, (wake - now) * 1000 + 1)))
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                endReason = "poll failed: \(String(cString: strerror(errno)))"
                break
            }
            let after = Clock.monotonic()
            if fds[0].revents != 0 {
                lastHeard = after
                Socket.acknowledgeNow(FileDescriptor(rawValue: sessionFD))
                if !connection.dispatch() { break }
            }
            for (entry, relay) in zip(fds, polled) where entry.revents != 0 {
                guard let relay, !relay.released else { continue }
                if entry.revents & Int16(POLLOUT) != 0 { relay.flushToAgent(scratch: scratch) }
                if entry.revents & ~Int16(POLLOUT) != 0 { relay.pumpFromAgent(scratch: scratch, now: after) }
            }
            housekeeping(now: after)
        }
    }

    private func housekeeping(now: Double) {
        for relay in relays {
            // The agent ended the person's login (they may sit at a password prompt, where
            // ssh shows nothing): the only channel ends the connection with the reason,
            // which the person's ssh prints at once, as for a refused channel.
            if let reason = relay.agentReason, relay.agentEnded, relays.count == 1, helps.isEmpty, endReason == nil {
                relay.flushToClient()
                if relay.flushedToClient {
                    endReason = "the agent closed the connection: \(reason)"
                    disconnectFirst = true
                    log("channel \(relay.number) to id=\(LogText.escaped(relay.id)) closed (the agent ended the login)")
                    continue
                }
            }
            _ = relay.housekeeping(now: now, pingInterval: settings.pingInterval, deadPeerTimeout: settings.deadPeerTimeout, scratch: scratch)
        }
        for relay in relays where relay.released {
            log("channel \(relay.number) to id=\(LogText.escaped(relay.id)) closed\(relay.endNote.map { " (\($0))" } ?? "")")
        }
        relays.removeAll { $0.released }
        for help in helps { _ = help.housekeeping() }
        helps.removeAll { $0.released }
    }

    private func tearDown() {
        if disconnectFirst, let connection {
            // ssh_disconnect frees libssh's channels: ours then let go of their side only.
            connection.disconnect(message: endReason)
            for relay in relays { relay.abandon() }
            relays.removeAll()
        }
        for relay in relays { relay.release() }
        relays.removeAll()
        for help in helps { help.release() }
        helps.removeAll()
        if let user { log("disconnected (user \"\(LogText.escaped(user))\", \(channelCount) channel(s))\(endReason.map { ": \($0)" } ?? "")") }
        if let connection {
            if !disconnectFirst { connection.disconnect(message: endReason) }
            connection.close()
        }
        connection = nil
    }

    // MARK: libssh callbacks

    /// Anyone may log in: the jump host grants only channels to agents, whose own SSH
    /// login decides who gets in.
    func authenticateNone(user name: String) -> Int32 {
        guard user == nil else { return Int32(SSH_AUTH_SUCCESS.rawValue) }
        user = name
        report(.loggedIn)
        log("logged in as \"\(LogText.escaped(name))\" (none: the agent checks credentials)")
        return Int32(SSH_AUTH_SUCCESS.rawValue)
    }

    /// A `session` channel: explained and closed (there is no shell here).
    func openSessionChannel() -> OpaquePointer? {
        guard user != nil, let session else { return nil }
        guard relays.count + helps.count < settings.options.maxChannels else {
            refuse("max_jump_channels", "refusing a session channel: \(settings.options.maxChannels) channels open")
            return nil
        }
        guard let channel = ssh_channel_new(session) else { return nil }
        let help = JumpHelpChannel(channel: channel, text: JumpHelpChannel.usage(port: settings.options.shownPort))
        var handlers = JumpHelpChannel.handlers(context: Unmanaged.passUnretained(help).toOpaque())
        guard let installation = cshim_ssh_install_channel_callbacks(UnsafeMutableRawPointer(channel), &handlers) else {
            ssh_channel_free(channel)
            return nil
        }
        help.installation = installation
        helps.append(help)
        log("a session channel: told how to use the jump host")
        return channel
    }

    /// `direct-tcpip` to `ID:PORT` is paired with agent ID; anything else (remote
    /// forwarding, agent forwarding, X11, other channel types) gets libssh's refusal.
    func handleMessage(_ message: OpaquePointer) -> Int32 {
        let defaultReply: Int32 = 1
        guard user != nil,
              ssh_message_type(message) == Int32(SSH_REQUEST_CHANNEL_OPEN.rawValue),
              ssh_message_subtype(message) == Int32(SSH_CHANNEL_DIRECT_TCPIP.rawValue) else {
            if ssh_message_type(message) == Int32(SSH_REQUEST_GLOBAL.rawValue) || ssh_message_type(message) == Int32(SSH_REQUEST_CHANNEL_OPEN.rawValue) {
                log("refused a request that is not a channel to an agent (type \(ssh_message_type(message)), subtype \(ssh_message_subtype(message)))")
            }
            return defaultReply
        }
        let id = ssh_message_channel_request_open_destination(message).map { String(cString: $0) } ?? ""
        guard relays.count + helps.count < settings.options.maxChannels else {
            refuse("max_jump_channels", "refusing a channel to id=\(LogText.escaped(id, limit: 100)): \(settings.options.maxChannels) channels open")
            return defaultReply
        }
        guard RendezvousID.isValid(id) else {
            report(.refused(limit: "bad_request"))
            return refuseChannel("invalid ID \"\(LogText.escaped(id, limit: 100))\": an ID is 1 to \(RendezvousID.maxLength) letters, digits, '.', '_' or '-'")
        }
        let connection: WebSocketConnection
        switch leg.open(id: id) {
        case .success(let opened): connection = opened
        case .failure(let refusal): return refuseChannel(refusal.description)
        }
        guard let channel = ssh_message_channel_request_open_reply_accept(message) else {
            connection.stream.close()
            return 0
        }
        channelCount += 1
        let relay = JumpChannel(number: channelCount, id: id, channel: channel, connection: connection, now: Clock.monotonic())
        var handlers = JumpChannel.handlers(context: Unmanaged.passUnretained(relay).toOpaque())
        relay.installation = cshim_ssh_install_channel_callbacks(UnsafeMutableRawPointer(channel), &handlers)
        relays.append(relay)
        log("channel \(channelCount) to id=\(LogText.escaped(id)) paired")
        return 0
    }

    /// A channel that cannot be paired: OpenSSH shows no text for a refused channel, but
    /// prints a disconnect's. So the only channel of a connection ends it with the reason;
    /// beside live channels (ControlMaster, -L), only the channel is refused.
    private func refuseChannel(_ reason: String) -> Int32 {
        log("channel refused: \(reason)")
        if relays.isEmpty && helps.isEmpty {
            endReason = reason
            return 0
        }
        return 1
    }
}
