import ConvergeNet
import Glibc

/// The kernel's process table, read from /proc: just enough to find a process's children.
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

    /// The parent pid in a /proc/PID/stat line: the field after the state, counted from the
    /// last ')' because the command name before it may hold spaces and parentheses.
    static func parentPID(stat: String) -> pid_t? {
        guard let nameEnd = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: nameEnd)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }
}
