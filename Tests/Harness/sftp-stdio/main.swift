// Dev harness: the SFTP server on stdin/stdout, so the real OpenSSH client can drive it:
//   sftp -D "$(swift build --show-bin-path)/sftp-stdio-harness"
import ConvergeSFTP
import Glibc

// A client that goes away mid-reply should end the session with EPIPE, not a signal.
signal(SIGPIPE, SIG_IGN)
SFTPService.serve(input: STDIN_FILENO, output: STDOUT_FILENO)
