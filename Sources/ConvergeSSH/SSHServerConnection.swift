import CShims
internal import CLibSSH
import Glibc

/// The libssh objects of one accepted SSH connection, server side: a bind that holds the
/// host key, the session with its callbacks, and (after the key exchange) the event that
/// polls it. The agent's session process and the server's jump process each run one;
/// what they allow is theirs, in the callbacks.
///
///     let connection = try SSHServerConnection.accept(socket: fd, hostKey: key, handlers: h, authMethods: m)
///     defer { connection.close() }
///     ... key exchange on connection.session ...
///     try connection.startEvents()
///     while connection.isConnected { poll(connection.fd ...); connection.dispatch() }
public final class SSHServerConnection {
    public let session: OpaquePointer
    private let bind: OpaquePointer
    private let installation: UnsafeMutableRawPointer
    private var event: OpaquePointer?
    private var closed = false

    private init(session: OpaquePointer, bind: OpaquePointer, installation: UnsafeMutableRawPointer) {
        self.session = session
        self.bind = bind
        self.installation = installation
    }

    /// Takes over `socket` (libssh closes it, also when this fails) with `hostKey`, the
    /// callbacks of `handlers` and the login methods (`SSH_AUTH_METHOD_*`) to offer.
    /// The key exchange is the caller's next step.
    public static func accept(socket: Int32, hostKey: SSHHostKey, handlers: cshim_ssh_server_handlers,
                              authMethods: Int32) throws(SSHSessionError) -> SSHServerConnection {
        _ = ssh_init()
        guard let bind = ssh_bind_new() else {
            _ = Glibc.close(socket)
            throw SSHSessionError("ssh_bind_new failed")
        }
        var processConfig = false  // never read /etc/ssh/libssh_server_config
        _ = ssh_bind_options_set(bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &processConfig)
        var handlers = handlers
        guard let key = hostKey.copyForBind(),
              ssh_bind_options_set(bind, SSH_BIND_OPTIONS_IMPORT_KEY, UnsafeRawPointer(key)) == SSH_OK,
              let session = ssh_new() else {
            ssh_bind_free(bind)
            _ = Glibc.close(socket)
            throw SSHSessionError("cannot set up libssh with the host key")
        }
        guard let installation = cshim_ssh_install_server_callbacks(UnsafeMutableRawPointer(session), &handlers) else {
            ssh_free(session)
            ssh_bind_free(bind)
            _ = Glibc.close(socket)
            throw SSHSessionError("cannot install libssh callbacks")
        }
        let connection = SSHServerConnection(session: session, bind: bind, installation: installation)
        guard ssh_bind_accept_fd(bind, session, socket) == SSH_OK else {
            let reason = String(cString: ssh_get_error(UnsafeMutableRawPointer(bind)))
            connection.close()
            _ = Glibc.close(socket)  // not libssh's yet
            throw SSHSessionError("accept: \(reason)")
        }
        ssh_set_auth_methods(session, authMethods)
        return connection
    }

    deinit { close() }

    /// After the key exchange: non-blocking, polled through `dispatch()`.
    public func startEvents() throws(SSHSessionError) {
        ssh_set_blocking(session, 0)
        guard let event = ssh_event_new() else { throw SSHSessionError("ssh_event_new failed") }
        self.event = event
        guard ssh_event_add_session(event, session) == SSH_OK else { throw SSHSessionError("ssh_event_add_session failed") }
    }

    /// The socket to poll (POLLIN, and POLLOUT while `writePending`).
    public var fd: Int32 { ssh_get_fd(session) }
    public var writePending: Bool { ssh_get_poll_flags(session) & SSH_WRITE_PENDING != 0 }
    public var isConnected: Bool {
        ssh_get_status(session) & (SSH_CLOSED | SSH_CLOSED_ERROR) == 0 && ssh_is_connected(session) != 0
    }

    /// Lets libssh handle what arrived (callbacks run here). False when it failed and
    /// the connection is gone.
    public func dispatch() -> Bool {
        guard let event else { return isConnected }
        return ssh_event_dopoll(event, 0) != SSH_ERROR || isConnected
    }

    /// Ends the connection with `message` as the disconnect's text (what the client's
    /// `ssh` prints: "Received disconnect from ...: MESSAGE").
    public func disconnect(message: String?) {
        if let message { _ = ssh_session_set_disconnect_message(session, message) }
        // libssh writes only once its poll has seen the socket writable, and drops what
        // is unwritten when it closes: after a reply, the message would be lost. Our
        // loop does the polling, so say it ourselves (the socket has room, or we wait).
        var writable = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        if fd >= 0 && poll(&writable, 1, 1000) == 1 { ssh_set_fd_towrite(session) }
        ssh_disconnect(session)
    }

    /// Frees everything; the socket closes with the session.
    public func close() {
        guard !closed else { return }
        closed = true
        if let event {
            _ = ssh_event_remove_session(event, session)
            ssh_event_free(event)
        }
        event = nil
        ssh_free(session)
        cshim_ssh_free_server_callbacks(installation)
        ssh_bind_free(bind)
    }
}
