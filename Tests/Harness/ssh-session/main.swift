// Dev harness (never shipped): serves SSH sessions on 127.0.0.1:PORT, one forked process
// per connection, so the SSH core can be tried with the real ssh, sftp and scp before the
// WebSocket pieces exist.
//
//   ssh-session-harness --port 2222 [--authorized-keys FILE] [--user NAME] [--shell PATH]
//                       [--known-hosts FILE] [--debug LEVEL]
// Passwords come from the environment: CONVERGE_PASSWORD (the agent's own, any user) and
// HARNESS_USER_PASSWORD (the server user's, for --user NAME; hashed like the server does).
import ConvergeAgent
import ConvergeNet
import ConvergeWire
import CShims
import Glibc
import SystemPackage

cshim_proctitle_init(CommandLine.argc, CommandLine.unsafeArgv)

func fail(_ message: String) -> Never {
    Log.stderr.write("ssh-session-harness: \(message)")
    exit(2)
}

var port = 2222
var keysPath: String?
var serverUser: String?
var shell: String?
var knownHostsPath: String?
var debug: Int32 = 0
var externalSFTPServer: String?
var controlDirectory: String?
var args = CommandLine.arguments.dropFirst()
while let flag = args.popFirst() {
    func value() -> String {
        guard let v = args.popFirst() else { fail("\(flag) needs a value") }
        return v
    }
    switch flag {
    case "--port":
        guard let p = Int(value()) else { fail("--port needs a number") }
        port = p
    case "--authorized-keys": keysPath = value()
    case "--user": serverUser = value()
    case "--shell": shell = value()
    case "--known-hosts": knownHostsPath = value()
    case "--debug": debug = Int32(value()) ?? 0
    case "--control-dir": controlDirectory = value()  // FIFO per session: "broadcast TEXT" / "close TEXT"
    case "--sftp-server": externalSFTPServer = value()  // for comparisons: e.g. OpenSSH's sftp-server
    default: fail("unknown flag \(flag)")
    }
}

func readFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { fail("cannot open \(path)") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

var keys: [AuthorizedKey] = []
if let keysPath {
    let file = AuthorizedKeysFile(parsing: readFile(keysPath))
    for issue in file.issues { Log.stdout.write("\(keysPath): \(issue)") }
    for key in file.keys { Log.stdout.write("\(keysPath): line \(key.line): accepting \(key.logDescription)") }
    keys = file.keys
}
var user: SSHAuthPolicy.ServerUser?
if let serverUser {
    guard let password = getenv("HARNESS_USER_PASSWORD").map({ String(cString: $0) }) else { fail("--user needs HARNESS_USER_PASSWORD") }
    user = SSHAuthPolicy.ServerUser(name: serverUser, passwordHash: PasswordHash(password: password, iterations: 10_000))
}
let agentPassword = getenv("CONVERGE_PASSWORD").map { String(cString: $0) }
let policy = SSHAuthPolicy(serverUser: user, authorizedKeys: keys, agentPassword: agentPassword)
if policy.isEmpty { fail("no way to log in: give --authorized-keys, --user or CONVERGE_PASSWORD") }

let hostKey: SSHHostKey
do { hostKey = try SSHHostKey.generate() } catch { fail("\(error)") }
let knownHosts = hostKey.knownHostsLine(hosts: "[127.0.0.1]:\(port)")
Log.stdout.write("host key \(hostKey.fingerprint)")
Log.stdout.write("known_hosts: \(knownHosts)")
if let knownHostsPath {
    let fd = open(knownHostsPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { fail("cannot write \(knownHostsPath)") }
    let line = Array((knownHosts + "\n").utf8)
    _ = write(fd, line, line.count)
    close(fd)
}

let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
var one: Int32 = 1
_ = setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
var address = sockaddr_in()
address.sin_family = sa_family_t(AF_INET)
address.sin_port = in_port_t(UInt16(port).bigEndian)
address.sin_addr.s_addr = inet_addr("127.0.0.1")
let bound = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
}
guard bound == 0, listen(listener, 64) == 0 else { fail("cannot listen on 127.0.0.1:\(port): \(Errno(rawValue: errno))") }
Log.stdout.write("listening on 127.0.0.1:\(port)")

/// The agent's hooks, driven from a FIFO: each line "broadcast TEXT" or "close TEXT".
func watchControlFIFO(_ session: SSHServerSession, path: String) {
    guard mkfifo(path, 0o600) == 0 else { Log.stdout.write("mkfifo \(path) failed"); return }
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    _ = open(path, O_WRONLY | O_CLOEXEC)  // our own writer: no endless POLLHUP between writers
    var pending: [UInt8] = []
    session.watch(fd: fd) { session in
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return }
        pending += buffer[0..<n]
        while let newline = pending.firstIndex(of: 10) {
            let line = String(decoding: pending[..<newline], as: UTF8.self)
            pending.removeSubrange(...newline)
            if line.hasPrefix("broadcast ") { session.broadcast(String(line.dropFirst(10)) + "\n") }
            if line.hasPrefix("close ") { session.closeAll(message: String(line.dropFirst(6)) + "\n") }
        }
    }
}

var configuration = SSHServerConfiguration(hostKey: hostKey, auth: policy, environment: .current(shellOverride: shell))
configuration.libsshVerbosity = debug
if let externalSFTPServer {
    configuration.sftpServer = {
        let argv = [strdup(externalSFTPServer), nil]
        execv(externalSFTPServer, argv)
        _exit(127)
    }
}
var served = 0
while true {
    var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
    _ = poll(&entry, 1, 500)
    var status: Int32 = 0
    while waitpid(-1, &status, WNOHANG) > 0 {}
    guard entry.revents != 0 else { continue }
    let connection = accept(listener, nil, nil)
    guard connection >= 0 else { continue }
    served += 1
    _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
    let pid = fork()
    if pid == 0 {
        close(listener)
        configuration.label = "session \(served)"
        cshim_set_proctitle("ssh-session-harness: session \(served)")
        let session = SSHServerSession(socket: connection, configuration: configuration)
        session.onEvent = { event in Log.stdout.write("session \(served): event \(event)") }
        if let controlDirectory { watchControlFIFO(session, path: "\(controlDirectory)/session-\(served)") }
        session.run()
        if let controlDirectory { unlink("\(controlDirectory)/session-\(served)") }
        exit(0)
    }
    close(connection)
    if pid < 0 { Log.stdout.write("fork failed: \(Errno(rawValue: errno))") }
}
