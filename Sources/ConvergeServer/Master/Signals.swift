import ConvergeNet
import Glibc
import SystemPackage

/// SIGTERM, SIGINT and SIGCHLD arrive as readable events on a signalfd (`SignalFD`), so
/// the master's single loop handles them like any socket (no async-signal-safety puzzles).
enum Signals {
    static let handled: [Int32] = [SIGTERM, SIGINT, SIGCHLD]

    static func openSignalFD() throws(ServerError) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        do { return try SignalFD(handled).descriptor.rawValue } catch { throw ServerError(error.description) }
    }

    /// Undoes the mask in a forked worker, which handles signals the ordinary way.
    static func resetInChild() {
        SignalFD.resetInChild(handled)
    }

    static func read(_ fd: Int32) -> [Int32] {
        SignalFD(adopting: FileDescriptor(rawValue: fd), for: handled).read()
    }
}
