import ConvergeNet
import Glibc

/// The kernel's process table, read from /proc: just enough to find a process's children,
/// and whether a background agent still runs.
enum ProcessTable {
    /// The processes whose parent is `parent` (a scan of /proc/PID/stat: works on any
    /// kernel, unlike /proc/PID/task/TID/children).
    static func children(of parent: pid_t) -> [pid_t] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var found: [pid_t] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = pid_t(name), let stat = TextFile.read("/proc/\(pid)/stat", limit: 4096) else { continue }
            if parentPID(stat: stat) == parent { found.append(pid) }
        }
        return found
    }

    /// True while `pid` runs (a zombie has ended) with `directory` as its working directory:
    /// a recycled pid belongs to some other process, elsewhere.
    static func isRunning(_ pid: pid_t, in directory: String) -> Bool {
        guard let stat = TextFile.read("/proc/\(pid)/stat", limit: 4096), let state = state(stat: stat),
              state != "Z" && state != "X" else { return false }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/\(pid)/cwd", &buffer, buffer.count - 1)
        // Another user's process hides its cwd: then only the pid is known to match.
        guard n > 0 else { return errno == EACCES }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) == directory
    }

    /// The state letter in a /proc/PID/stat line (R, S, Z...).
    static func state(stat: String) -> Character? {
        guard let nameEnd = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: nameEnd)...].split(separator: " ").first?.first
    }

    /// The parent pid in a /proc/PID/stat line: the field after the state, counted from the
    /// last ')' because the command name before it may hold spaces and parentheses.
    static func parentPID(stat: String) -> pid_t? {
        guard let nameEnd = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: nameEnd)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }
}
