internal import CLibSSH
import CShims
import Glibc

/// A `session` channel on the jump host: there is no shell here, so a shell, a command
/// or a subsystem gets a short text on how to use the host and exit status 1. A pty or
/// environment request is accepted (OpenSSH sends them first) and changes nothing.
final class JumpHelpChannel {
    let channel: OpaquePointer
    var installation: UnsafeMutableRawPointer?
    private let text: [UInt8]
    /// A shell, exec or subsystem request came: answer it at the next turn of the loop.
    var answerDue = false
    /// The client closed the channel first: nothing to answer.
    var clientClosed = false
    private(set) var released = false

    init(channel: OpaquePointer, text: String) {
        self.channel = channel
        self.text = Array(text.utf8)
    }

    /// Writes the text (what fits the window: it is short), exit status 1, EOF, close.
    func housekeeping() -> Bool {
        if released { return true }
        if clientClosed {
            release()
            return true
        }
        guard answerDue else { return false }
        let room = min(text.count, Int(ssh_channel_window_size(channel)))
        if room > 0 { _ = text.withUnsafeBytes { ssh_channel_write_stderr(channel, $0.baseAddress, UInt32(room)) } }
        _ = ssh_channel_request_send_exit_status(channel, 1)
        _ = ssh_channel_send_eof(channel)
        _ = ssh_channel_close(channel)
        release()
        return true
    }

    func release() {
        guard !released else { return }
        released = true
        if let installation {
            cshim_ssh_remove_channel_callbacks(UnsafeMutableRawPointer(channel), installation)
            self.installation = nil
        }
        ssh_channel_free(channel)
    }

    /// What a person who ran `ssh` (or `sftp`) at the jump host itself is told (CR LF:
    /// a terminal in raw mode shows it too).
    static func usage(port: Int) -> String {
        """
        This is a Converge jump host: it has no shell. It connects you to a CI job's agent:
            ssh  -J HOST:\(port) USER@ID
            sftp -J HOST:\(port) USER@ID
            scp  -J HOST:\(port) FILE USER@ID:
        where HOST is this server's name, and ID and USER are in the job's log.

        """.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
    }
}
