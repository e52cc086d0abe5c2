import Glibc

/// Signal names as SSH writes them (RFC 4254 section 6.10: without the SIG prefix).
enum SignalNames {
    private static let table: [(Int32, String)] = [
        (SIGABRT, "ABRT"), (SIGALRM, "ALRM"), (SIGFPE, "FPE"), (SIGHUP, "HUP"), (SIGILL, "ILL"),
        (SIGINT, "INT"), (SIGKILL, "KILL"), (SIGPIPE, "PIPE"), (SIGQUIT, "QUIT"), (SIGSEGV, "SEGV"),
        (SIGTERM, "TERM"), (SIGUSR1, "USR1"), (SIGUSR2, "USR2"),
        // Not in the RFC list; OpenSSH clients print them as given.
        (SIGBUS, "BUS"), (SIGCONT, "CONT"), (SIGSTOP, "STOP"), (SIGTSTP, "TSTP"), (SIGWINCH, "WINCH"),
        (SIGSYS, "SYS"), (SIGTRAP, "TRAP"), (SIGXCPU, "XCPU"), (SIGXFSZ, "XFSZ"),
    ]

    static func name(of signal: Int32) -> String {
        table.first { $0.0 == signal }?.1 ?? "SIG\(signal)@converge"
    }

    static func number(named name: String) -> Int32? {
        let bare = name.hasPrefix("SIG") ? String(name.dropFirst(3)) : name
        return table.first { $0.1 == bare }?.0
    }
}
