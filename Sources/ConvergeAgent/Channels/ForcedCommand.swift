import ConvergeWire

/// An authorized key's `command="..."`, as sshd runs it: in place of whatever the client
/// asked for (shell, command or the sftp subsystem), with the request in
/// `SSH_ORIGINAL_COMMAND`. `internal-sftp` is the agent's own sftp server: sftp works,
/// and a shell or a command is told that only sftp is allowed.
enum ForcedCommand {
    static let internalSFTP = "internal-sftp"

    static func program(for requested: SessionChannel.Program, forced: String?) -> SessionChannel.Program {
        guard let forced else { return requested }
        if Substring(forced).trimmingSpaces() == internalSFTP {
            if requested == .sftp { return .sftp }
            return .exec("echo 'This service allows sftp connections only.' >&2; exit 1")
        }
        return .exec(forced)
    }

    /// What sshd puts in `SSH_ORIGINAL_COMMAND`: the command asked for, or the subsystem's
    /// program (ours is internal); nothing for a shell.
    static func originalCommand(of requested: SessionChannel.Program) -> String? {
        switch requested {
        case .shell: return nil
        case .exec(let command): return command
        case .sftp: return internalSFTP
        }
    }
}
