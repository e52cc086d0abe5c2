import Glibc

/// The `longname` of a READDIR entry: one `ls -l` line, which `sftp`'s `ls -l` prints
/// verbatim. Same layout as OpenSSH's, except that owner and group are always numbers:
/// the agent is static and must not look names up through NSS.
enum SFTPLongName {
    static func format(name: [UInt8], status: SFTPFileStatus, now: Int) -> [UInt8] {
        var line = modeString(status.mode)
        line += " "  // where `ls` puts its ACL marker
        line += " " + padLeft(String(status.linkCount), to: 3)
        line += " " + padRight(String(status.userID), to: 8)
        line += " " + padRight(String(status.groupID), to: 8)
        line += " " + padLeft(String(status.size), to: 8)
        line += " " + dateString(modificationTime: status.modificationTime, now: now)
        line += " "
        return Array(line.utf8) + name
    }

    /// `drwxr-xr-x`: type letter, then rwx for user, group, other with the setuid,
    /// setgid and sticky bits folded into the execute columns as `ls` shows them.
    static func modeString(_ mode: UInt32) -> String {
        let typeLetter: Character =
            switch mode & UInt32(S_IFMT) {
            case UInt32(S_IFDIR): "d"
            case UInt32(S_IFLNK): "l"
            case UInt32(S_IFCHR): "c"
            case UInt32(S_IFBLK): "b"
            case UInt32(S_IFIFO): "p"
            case UInt32(S_IFSOCK): "s"
            case UInt32(S_IFREG): "-"
            default: "?"
            }
        func triplet(_ shift: UInt32, special: UInt32, setLetter: Character) -> String {
            let bits = (mode >> shift) & 0o7
            let read: Character = bits & 0o4 != 0 ? "r" : "-"
            let write: Character = bits & 0o2 != 0 ? "w" : "-"
            let executable = bits & 0o1 != 0
            let execute: Character =
                switch (mode & special != 0, executable) {
                case (true, true): setLetter
                case (true, false): Character(setLetter.uppercased())
                case (false, true): "x"
                case (false, false): "-"
                }
            return String([read, write, execute])
        }
        return String(typeLetter)
            + triplet(6, special: UInt32(S_ISUID), setLetter: "s")
            + triplet(3, special: UInt32(S_ISGID), setLetter: "s")
            + triplet(0, special: UInt32(S_ISVTX), setLetter: "t")
    }

    private static let monthNames = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// `Mar  5 14:03` for the last six months, `Mar  5  2023` otherwise (also for the
    /// future), in local time, like `ls`.
    static func dateString(modificationTime: Int, now: Int) -> String {
        var seconds = time_t(modificationTime)
        var local = tm()
        guard localtime_r(&seconds, &local) != nil, (0..<12).contains(local.tm_mon) else { return "" }
        let month = monthNames[Int(local.tm_mon)]
        let day = padLeft(String(local.tm_mday), to: 2)
        let halfYear = 365 * 24 * 60 * 60 / 2
        if modificationTime > now - halfYear && modificationTime <= now {
            return "\(month) \(day) \(twoDigits(local.tm_hour)):\(twoDigits(local.tm_min))"
        }
        return "\(month) \(day)  \(Int(local.tm_year) + 1900)"
    }

    private static func twoDigits(_ value: Int32) -> String {
        value < 10 ? "0\(value)" : String(value)
    }

    private static func padLeft(_ text: String, to width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    private static func padRight(_ text: String, to width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }
}
