import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// The authorized keys file (`.authorized_keys` or `--authorized-keys FILE`), read again
/// whenever it changes, so that a key added or removed during the job counts for the next
/// login, as with sshd (people add a colleague's key from inside a session). The agent's
/// main process calls `refresh` on every turn of its loop and before each new session:
/// one `stat` when nothing changed.
public struct AuthorizedKeysWatch {
    public let path: String
    public private(set) var keys: [AuthorizedKey] = []
    /// False when the file could not be read at start (it may appear later).
    public let readAtStart: Bool
    private var signature: Signature?

    /// What tells a changed file: identity, size and both times to the nanosecond (an
    /// editor that writes a new file and renames it changes the inode).
    struct Signature: Equatable {
        let device: UInt64, inode: UInt64, size: Int64
        let modified: Int, modifiedNanos: Int, changed: Int, changedNanos: Int

        static func of(_ path: String) -> Signature? {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            return Signature(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                             modified: Int(info.st_mtim.tv_sec), modifiedNanos: Int(info.st_mtim.tv_nsec),
                             changed: Int(info.st_ctim.tv_sec), changedNanos: Int(info.st_ctim.tv_nsec))
        }
    }

    /// Reads `path` now (stat first, so a change during the read is seen next time) and
    /// logs each key and each bad line. A missing file has no keys until it appears.
    public init(path: String, log: Log) {
        self.path = path
        signature = Signature.of(path)
        guard let text = TextFile.read(path) else {
            readAtStart = false
            return
        }
        readAtStart = true
        keys = AuthorizedKeysWatch.parse(text, path: path, log: log)
    }

    /// Re-reads the file if it changed; logs what was added and removed. Returns true
    /// when the keys changed.
    @discardableResult
    public mutating func refresh(log: Log) -> Bool {
        let now = Signature.of(path)
        guard now != signature else { return false }
        signature = now
        let before = keys
        if now == nil {
            keys = []
            log.write("\(path) is gone: its \(before.count) key(s) no longer log in")
            return !before.isEmpty
        }
        guard let text = TextFile.read(path) else {
            keys = []
            log.write("\(path) changed but cannot be read (\(Errno(rawValue: errno))): its keys no longer log in")
            return !before.isEmpty
        }
        log.write("\(path) changed: reading it again")
        keys = AuthorizedKeysWatch.parse(text, path: path, log: log, quietAbout: before)
        for key in before where !keys.contains(where: { $0.blob == key.blob && $0.optionsText == key.optionsText }) {
            log.write("\(path): removed \(key.logDescription)")
        }
        log.write("\(path): \(keys.count) key(s) now")
        return keys != before
    }

    /// Keys from the file's text; bad lines and keys not in `quietAbout` are logged.
    private static func parse(_ text: String, path: String, log: Log, quietAbout known: [AuthorizedKey]? = nil) -> [AuthorizedKey] {
        let parsed = AuthorizedKeysFile(parsing: text)
        for issue in parsed.issues { log.write("\(path): \(issue)") }
        for key in parsed.keys where !(known ?? []).contains(where: { $0.blob == key.blob && $0.optionsText == key.optionsText }) {
            log.write("\(path): line \(key.line): \(known == nil ? "accepting" : "added") \(key.logDescription)")
        }
        return parsed.keys
    }
}
