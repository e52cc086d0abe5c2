import CShims
import ConvergeClient
import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// One client's session, in its own process (forked from the single-threaded agent):
/// a relay process pumps the WebSocket ⇄ a socketpair, and this process runs the SSH
/// server on the socketpair's other end. Either dying ends only this client's session.
/// A control socket links it to the agent's main process (see `ControlMessage`): it
/// reports login and logout, and takes the expiry, warnings and the order to close.
enum AgentSessionProcess {
    /// What the session process needs to know about the agent's lifecycle.
    struct Link {
        /// The session's end of its control socketpair.
        let control: ControlSocket
        /// Descriptors of the main process to close in the child (other sessions'
        /// control sockets, the signalfd, the main's end of this pair).
        let closeInChild: [FileDescriptor]
        let notices: LifecycleNotices
        /// The first login so far, if any (for the expiry before the agent says it).
        let firstLogin: Double?
    }

    /// Forks the session process and returns its pid; the caller closes its copy of the
    /// connection (without a TLS shutdown: the child owns the TLS state now).
    static func start(_ connection: WebSocketConnection, configuration: SSHServerConfiguration, relayOptions: RelayOptions,
                      client: String, link: Link) -> pid_t {
        let parent = getpid()
        let pid = fork()
        guard pid == 0 else { return pid }
        SignalFD.resetInChild(AgentSignals.handled)
        for fd in link.closeInChild { try? fd.close() }
        // A killed agent must not leave this session (and its shells) behind: SIGTERM
        // runs the session's own orderly end, which hangs up every shell.
        ParentDeath.signal(SIGTERM)
        if getppid() != parent { exit(0) }
        // Its own process group: a Ctrl-C (SIGINT to the agent's group) reaches only the
        // main process, which closes every session with a message.
        _ = setpgid(0, 0)
        cshim_set_proctitle("agent: session for \(client)")
        exit(serve(connection, configuration: configuration, relayOptions: relayOptions, client: client, link: link))
    }

    private static func serve(_ connection: WebSocketConnection, configuration: SSHServerConfiguration, relayOptions: RelayOptions,
                              client: String, link: Link) -> Int32 {
        let ssh: FileDescriptor, relayed: FileDescriptor
        do { (ssh, relayed) = try Socket.pair() } catch {
            configuration.log.write("session for \(client): socketpair failed: \(Errno(rawValue: error.code))")
            return 1
        }
        // Non-blocking: the relay looks once, at the end, and must not wait for a reason.
        // Close-on-exec: shells never inherit it.
        let why: (read: FileDescriptor, write: FileDescriptor)
        do {
            let pipe = try FileDescriptor.pipe()
            why = (pipe.readEnd, pipe.writeEnd)
            for fd in [why.read, why.write] {
                try Socket.setNonBlocking(fd)
                _ = fcntl(fd.rawValue, F_SETFD, FD_CLOEXEC)
            }
        } catch {
            configuration.log.write("session for \(client): pipe failed: \(error)")
            return 1
        }
        let sessionPID = getpid()
        let pump = fork()
        if pump == 0 {
            try? ssh.close()
            link.control.close()
            ParentDeath.signal(SIGKILL)
            if getppid() != sessionPID { exit(0) }
            cshim_set_proctitle("agent: relay for \(client)")
            Socket.ignoreBrokenPipeSignal()
            try? why.write.close()
            let relay = Relay(.plain(FileStream(relayed), name: "ssh"), connection.sessionRelayEnd(), options: relayOptions)
            // Why the session ended a client before its login, for a person at a password
            // prompt: ssh reads its disconnect only after the password, wsproxy prints this.
            relay.closeAtEndOfInput = {
                var buffer = [UInt8](repeating: 0, count: 120)
                let n = buffer.withUnsafeMutableBytes { (try? why.read.read(into: $0)) ?? 0 }
                guard n > 0 else { return nil }
                return (AgentCloseCode.endedLogin, String(decoding: buffer[0..<n], as: UTF8.self))
            }
            do { _ = try relay.run() } catch {
                let limit = error.isFrameTooBig ? " (limit: max_frame_bytes \(relayOptions.maxFrameSize))" : ""
                configuration.log.write("session for \(client): connection ended: \(error.description)\(limit)")
            }
            exit(0)
        }
        try? relayed.close()
        try? why.read.close()
        connection.stream.close()
        guard pump > 0 else {
            configuration.log.write("session for \(client): fork failed: \(Errno(rawValue: errno))")
            return 1
        }
        let session = SSHServerSession(socket: ssh.rawValue, configuration: configuration)
        session.onLoginGraceExpired = { reason in
            // A close reason holds at most 123 bytes; the pipe takes it without blocking.
            let text = Array(reason.utf8.prefix(120))
            _ = try? text.withUnsafeBytes { try why.write.write($0) }
            try? why.write.close()
        }
        attach(session, link: link)
        session.run()  // libssh owns the socket and closes it
        reapRelay(pump)
        return 0
    }

    /// Wires the session to the control socket: events out, orders in, the greeting.
    private static func attach(_ session: SSHServerSession, link: Link) {
        var expiry: Double? = nil
        var loginTime = 0.0
        var user = ""
        session.onEvent = { event in
            switch event {
            case .loggedIn(let name, let method, let fingerprint):
                user = name
                loginTime = Clock.now()
                link.control.send(.login(at: loginTime, user: name, method: "\(method)", fingerprint: fingerprint))
            case .loggedOut:
                link.control.send(.logout)
            case .loginFailed(_, _, _, let isGuess):
                if isGuess { link.control.send(.guessFailed) }
            }
        }
        // Activity moves the agent's expiry: told at most once a second, so a person who
        // types costs the agent one small message a second, and the clock is read only then.
        var lastReport = -Double.infinity
        session.onActivity = { now in
            guard now - lastReport >= 1 else { return }
            lastReport = now
            link.control.send(.active(at: Clock.now()))
        }
        session.shellGreeting = {
            let now = Clock.now()
            let hold = HoldFile.mtime(link.notices.holdPath)
            let shown = expiry ?? Lifecycle.expiry(firstLogin: link.firstLogin ?? loginTime, holdMtime: hold,
                                                   holdPeriod: link.notices.holdPeriod)
            return link.notices.greeting(user: LogText.escaped(user, limit: 64), expiry: shown, now: now, holding: hold != nil)
        }
        session.watch(fd: link.control.fd.rawValue) { session in
            while true {
                switch link.control.receive() {
                case .nothing: return
                case .closed:
                    session.disconnect(reason: "the agent's main process is gone")
                    return
                case .message(.expiry(let epoch)): expiry = epoch
                case .message(.warn(let text)): session.broadcastToShells(text)
                case .message(.close(let text)):
                    session.broadcastToShells(text)  // commands' output stays exact, even cut short
                    session.closeAll(message: nil, graceSeconds: 3)
                case .message: continue
                }
            }
        }
    }

    /// The relay sees end of file once the SSH side closes; give it a moment to send its
    /// close frame, then make sure it is gone.
    private static func reapRelay(_ pid: pid_t) {
        var status: Int32 = 0
        for _ in 0..<30 {
            if waitpid(pid, &status, WNOHANG) != 0 { return }
            usleep(100_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }
}
