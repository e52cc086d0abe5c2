import Glibc

/// Session processes whose client has not logged in yet, against `max_unauthenticated`
/// (OpenSSH's MaxStartups). Each costs a process and may be guessing passwords; once
/// logged in a session no longer counts, and a refused one never did.
struct LoginSlots {
    let limit: Int
    private(set) var waiting: Set<pid_t> = []

    init(limit: Int) { self.limit = limit }

    /// True when the next client must be refused.
    var isFull: Bool { waiting.count >= limit }

    mutating func started(_ pid: pid_t) { waiting.insert(pid) }

    mutating func loggedIn(_ pid: pid_t) { waiting.remove(pid) }

    mutating func ended(_ pid: pid_t) { waiting.remove(pid) }
}
