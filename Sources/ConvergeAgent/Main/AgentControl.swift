import CShims
import ConvergeNet
import Glibc
import SystemPackage

/// Messages on the control socketpair (SOCK_SEQPACKET: one message per packet) between the
/// agent's main process and a session process.
///
///     session → agent:  login EPOCH METHOD FINGERPRINT|- USER      logout      guess-failed
///                       active EPOCH
///     agent → session:  expiry EPOCH     warn TEXT     close TEXT
enum ControlMessage: Equatable {
    case login(at: Double, user: String, method: String, fingerprint: String?)
    case logout
    /// A failed login that could be a guess (wrong password, bad signature): the agent
    /// remembers it per client address (`SourcePenalties`).
    case guessFailed
    /// The person sent something (keystrokes, sftp, forwarded bytes) at EPOCH; sent at
    /// most about once a second while they do.
    case active(at: Double)
    case expiry(Double)
    case warn(String)
    case close(String)

    var encoded: [UInt8] {
        switch self {
        case .login(let at, let user, let method, let fingerprint):
            let safeMethod = method.map { $0 == " " ? "_" : $0 }
            return Array("login \(at) \(String(safeMethod)) \(fingerprint ?? "-") \(user)".utf8)
        case .logout: return Array("logout".utf8)
        case .guessFailed: return Array("guess-failed".utf8)
        case .active(let at): return Array("active \(at)".utf8)
        case .expiry(let epoch): return Array("expiry \(epoch)".utf8)
        case .warn(let text): return Array("warn \(text)".utf8)
        case .close(let text): return Array("close \(text)".utf8)
        }
    }

    init?(decoding bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let (verb, rest) = ControlMessage.split(text)
        switch verb {
        case "login":
            let (at, afterAt) = ControlMessage.split(rest)
            let (method, afterMethod) = ControlMessage.split(afterAt)
            let (fingerprint, user) = ControlMessage.split(afterMethod)
            guard let epoch = ControlMessage.epoch(at), !method.isEmpty, !fingerprint.isEmpty else { return nil }
            self = .login(at: epoch, user: user, method: method, fingerprint: fingerprint == "-" ? nil : fingerprint)
        case "logout": self = .logout
        case "guess-failed": self = .guessFailed
        case "active":
            guard let epoch = ControlMessage.epoch(rest) else { return nil }
            self = .active(at: epoch)
        case "expiry":
            guard let epoch = ControlMessage.epoch(rest) else { return nil }
            self = .expiry(epoch)
        case "warn": self = .warn(rest)
        case "close": self = .close(rest)
        default: return nil
        }
    }

    /// A time in seconds since 1970. The receiver prints it as a date (time_t), which
    /// traps on infinities, NaN and huge values: those are refused here.
    private static func epoch(_ text: String) -> Double? {
        guard let value = Double(text), (0...1e11).contains(value) else { return nil }
        return value
    }

    private static func split(_ text: String) -> (String, String) {
        guard let space = text.firstIndex(of: " ") else { return (text, "") }
        return (String(text[..<space]), String(text[text.index(after: space)...]))
    }
}

/// One end of a control socketpair.
struct ControlSocket {
    let fd: FileDescriptor

    /// A connected pair (close-on-exec, so shells never inherit one).
    static func pair() throws(NetError) -> (ControlSocket, ControlSocket) {
        let (a, b) = try Socket.pair(.seqpacket)
        return (ControlSocket(fd: a), ControlSocket(fd: b))
    }

    /// Best effort: a full or closed socket drops the message (the peer is gone or stuck).
    func send(_ message: ControlMessage) {
        let bytes = message.encoded
        _ = bytes.withUnsafeBytes { Glibc.send(fd.rawValue, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) }
    }

    enum Received: Equatable {
        case message(ControlMessage)
        case nothing
        case closed
    }

    /// The next message without blocking (unknown messages are skipped).
    func receive() -> Received {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd.rawValue, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .nothing }
            if n <= 0 { return .closed }
            if let message = ControlMessage(decoding: Array(buffer[0..<n])) { return .message(message) }
        }
    }

    func close() { try? fd.close() }
}

/// The signals that stop the agent. Its main process reads them from a `SignalFD`, so
/// its single loop handles them; a forked session process puts them back to normal.
enum AgentSignals {
    static let handled: [Int32] = [SIGTERM, SIGINT, SIGHUP, restartWaiting]
    /// Sent by `agent --wait`: not an end, a new wait for the first login (`Lifecycle.restartWaiting`).
    static let restartWaiting = SIGUSR1
}

/// `.hold` in the agent's working directory.
enum HoldFile {
    /// Its mtime, or nil when it does not exist.
    static func mtime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }

    /// `/abs/dir/.hold` for the current directory.
    static func path() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return ".hold" }
        let dir = String(cString: buffer)
        return dir == "/" ? "/.hold" : dir + "/.hold"
    }

    /// `'path'` quoted for a POSIX shell.
    static func shellQuoted(_ path: String) -> String {
        "'" + path.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}

enum ParentDeath {
    /// PR_SET_PDEATHSIG: `signal` arrives when the parent process ends.
    static func signal(_ signal: Int32) {
        _ = cshim_set_parent_death_signal(signal)
    }
}
