import CLibSSH
import CShims

// libssh -> Swift: tables of @convention(c) functions for the C shim. Each entry turns
// the context pointer back into its object (not retained: the session holds every
// channel until it has detached its callbacks) and converts the C arguments.

private func string(_ text: UnsafePointer<CChar>?) -> String {
    text.map { String(cString: $0) } ?? ""
}

extension SSHServerSession {
    static func serverHandlers(context: UnsafeMutableRawPointer) -> cshim_ssh_server_handlers {
        cshim_ssh_server_handlers(
            context: context,
            auth_password: { context, user, password in
                Unmanaged<SSHServerSession>.fromOpaque(context!).takeUnretainedValue()
                    .authenticate(user: string(user), password: string(password))
            },
            auth_pubkey: { context, user, key, state in
                Unmanaged<SSHServerSession>.fromOpaque(context!).takeUnretainedValue()
                    .authenticate(user: string(user), key: key.map { OpaquePointer($0) }, signatureState: state)
            },
            open_session_channel: { context in
                let channel = Unmanaged<SSHServerSession>.fromOpaque(context!).takeUnretainedValue().openSessionChannel()
                return channel.map { UnsafeMutableRawPointer($0) }
            },
            message: { context, message in
                guard let message else { return 1 }
                return Unmanaged<SSHServerSession>.fromOpaque(context!).takeUnretainedValue().handleMessage(OpaquePointer(message))
            },
            auth_none: nil)
    }
}

extension SessionChannel {
    private static func from(_ context: UnsafeMutableRawPointer?) -> SessionChannel {
        Unmanaged<SessionChannel>.fromOpaque(context!).takeUnretainedValue()
    }

    static func handlers(context: UnsafeMutableRawPointer) -> cshim_ssh_channel_handlers {
        cshim_ssh_channel_handlers(
            context: context,
            data: { context, data, length, isStderr in
                guard let data else { return 0 }
                let served = SessionChannel.from(context)
                served.server.clientSent = true
                return Int32(served.pump.receive(UnsafeRawBufferPointer(start: data, count: Int(length)), isStderr: isStderr != 0))
            },
            eof: { context in SessionChannel.from(context).pump.receivedEOF() },
            close: { context in SessionChannel.from(context).pump.clientClosed() },
            signal: { context, name in SessionChannel.from(context).signalRequest(name: string(name)) },
            pty_request: { context, term, cols, rows, xpixel, ypixel in
                SessionChannel.from(context).ptyRequest(term: string(term), cols: cols, rows: rows, xpixel: xpixel, ypixel: ypixel)
            },
            pty_window_change: { context, cols, rows, xpixel, ypixel in
                SessionChannel.from(context).windowChange(cols: cols, rows: rows, xpixel: xpixel, ypixel: ypixel)
            },
            shell_request: { context in SessionChannel.from(context).start(.shell) },
            exec_request: { context, command in SessionChannel.from(context).start(.exec(string(command))) },
            env_request: { context, name, value in SessionChannel.from(context).environmentRequest(name: string(name), value: string(value)) },
            subsystem_request: { context, subsystem in
                string(subsystem) == "sftp" ? SessionChannel.from(context).start(.sftp) : 1
            })
    }
}

extension ForwardChannel {
    private static func from(_ context: UnsafeMutableRawPointer?) -> ForwardChannel {
        Unmanaged<ForwardChannel>.fromOpaque(context!).takeUnretainedValue()
    }

    static func handlers(context: UnsafeMutableRawPointer) -> cshim_ssh_channel_handlers {
        cshim_ssh_channel_handlers(
            context: context,
            data: { context, data, length, isStderr in
                guard let data else { return 0 }
                let served = ForwardChannel.from(context)
                served.server.clientSent = true
                return Int32(served.pump.receive(UnsafeRawBufferPointer(start: data, count: Int(length)), isStderr: isStderr != 0))
            },
            eof: { context in ForwardChannel.from(context).pump.receivedEOF() },
            close: { context in ForwardChannel.from(context).pump.clientClosed() },
            signal: nil, pty_request: nil, pty_window_change: nil, shell_request: nil,
            exec_request: nil, env_request: nil, subsystem_request: nil)
    }
}
