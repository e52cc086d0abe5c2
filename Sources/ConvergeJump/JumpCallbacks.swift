internal import CLibSSH
import CShims

// libssh -> Swift for the jump host: tables of @convention(c) functions for the C shim.
// Each entry turns the context pointer back into its object (not retained: the session
// holds every channel until it has detached its callbacks).

private func string(_ text: UnsafePointer<CChar>?) -> String {
    text.map { String(cString: $0) } ?? ""
}

extension JumpSession {
    func serverHandlers(context: UnsafeMutableRawPointer) -> cshim_ssh_server_handlers {
        cshim_ssh_server_handlers(
            context: context,
            auth_password: nil,
            auth_pubkey: nil,
            open_session_channel: { context in
                Unmanaged<JumpSession>.fromOpaque(context!).takeUnretainedValue().openSessionChannel().map { UnsafeMutableRawPointer($0) }
            },
            message: { context, message in
                guard let message else { return 1 }
                return Unmanaged<JumpSession>.fromOpaque(context!).takeUnretainedValue().handleMessage(OpaquePointer(message))
            },
            auth_none: { context, user in
                Unmanaged<JumpSession>.fromOpaque(context!).takeUnretainedValue().authenticateNone(user: string(user))
            })
    }
}

extension JumpChannel {
    private static func from(_ context: UnsafeMutableRawPointer?) -> JumpChannel {
        Unmanaged<JumpChannel>.fromOpaque(context!).takeUnretainedValue()
    }

    static func handlers(context: UnsafeMutableRawPointer) -> cshim_ssh_channel_handlers {
        cshim_ssh_channel_handlers(
            context: context,
            data: { context, data, length, isStderr in
                guard let data, isStderr == 0 else { return Int32(length) }
                return Int32(JumpChannel.from(context).receive(UnsafeRawBufferPointer(start: data, count: Int(length))))
            },
            eof: { context in JumpChannel.from(context).receivedEOF() },
            close: { context in JumpChannel.from(context).receivedClose() },
            signal: nil, pty_request: nil, pty_window_change: nil, shell_request: nil,
            exec_request: nil, env_request: nil, subsystem_request: nil)
    }
}

extension JumpHelpChannel {
    private static func from(_ context: UnsafeMutableRawPointer?) -> JumpHelpChannel {
        Unmanaged<JumpHelpChannel>.fromOpaque(context!).takeUnretainedValue()
    }

    /// A pty and environment are accepted (OpenSSH asks first); shell, exec and
    /// subsystem are accepted and then answered with the usage text. Agent and X11
    /// forwarding requests have no handler: libssh refuses them.
    static func handlers(context: UnsafeMutableRawPointer) -> cshim_ssh_channel_handlers {
        cshim_ssh_channel_handlers(
            context: context,
            data: { _, _, length, _ in Int32(length) },
            eof: nil,
            close: { context in JumpHelpChannel.from(context).clientClosed = true },
            signal: nil,
            pty_request: { _, _, _, _, _, _ in 0 },
            pty_window_change: { _, _, _, _, _ in 0 },
            shell_request: { context in JumpHelpChannel.from(context).answerDue = true; return 0 },
            exec_request: { context, _ in JumpHelpChannel.from(context).answerDue = true; return 0 },
            env_request: { _, _, _ in 0 },
            subsystem_request: { context, _ in JumpHelpChannel.from(context).answerDue = true; return 0 })
    }
}
