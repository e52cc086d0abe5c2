import Glibc
import SystemPackage

/// The SFTP server the agent runs for the `sftp` subsystem.
public enum SFTPService {
    /// Serves one SFTP session: reads requests from `input`, writes replies to `output`,
    /// until `input` reaches EOF or a protocol error ends the session. Blocking; the agent
    /// runs it in a forked child process whose stdin/stdout are a socketpair to the SSH channel.
    /// Paths are relative to the process's current directory (the agent's working directory).
    public static func serve(input: Int32, output: Int32) {
        var session = SFTPSession(input: FileDescriptor(rawValue: input), output: FileDescriptor(rawValue: output))
        if let reason = session.run() {
            writeDiagnostic("sftp: session ended: \(reason)\n")
        }
    }

    /// One line on stderr: the CI log in the agent, the user's terminal under `sftp -D`.
    private static func writeDiagnostic(_ line: String) {
        var line = line
        line.withUTF8 { bytes in _ = Glibc.write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
    }
}
