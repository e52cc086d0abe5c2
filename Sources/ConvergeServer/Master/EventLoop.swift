import CShims
import Glibc

/// A thin epoll wrapper: the master watches thousands of idle agent sockets, and epoll
/// costs nothing per idle one (poll would scan them all on every wake-up).
struct EventLoop: ~Copyable {
    let fd: Int32
    private var events = [epoll_event](repeating: epoll_event(), count: 256)

    init() throws(ServerError) {
        fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw ServerError.system("epoll_create1") }
    }

    deinit { close(fd) }

    func watch(_ watched: Int32, writable: Bool = false) {
        var event = epoll_event()
        event.events = UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue) | (writable ? UInt32(EPOLLOUT.rawValue) : 0)
        event.data.fd = watched
        if epoll_ctl(fd, EPOLL_CTL_MOD, watched, &event) != 0 {
            _ = epoll_ctl(fd, EPOLL_CTL_ADD, watched, &event)
        }
    }

    func unwatch(_ watched: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(fd, EPOLL_CTL_DEL, watched, &event)
    }

    /// Waits up to `timeoutMs` and returns the ready descriptors with what they are ready for.
    mutating func wait(timeoutMs: Int32) -> [(fd: Int32, ready: Readiness)] {
        let n = events.withUnsafeMutableBufferPointer { epoll_wait(fd, $0.baseAddress, Int32($0.count), timeoutMs) }
        guard n > 0 else { return [] }
        return (0..<Int(n)).map { (events[$0].data.fd, Readiness(events: events[$0].events)) }
    }
}

/// What epoll reported for one descriptor, so handlers need not know its bits.
struct Readiness {
    let events: UInt32

    /// Room to write (reported only while watched with `writable: true`).
    var writable: Bool { events & UInt32(EPOLLOUT.rawValue) != 0 }

    /// Bytes to read, or the peer hung up or failed: the read says which.
    var readable: Bool {
        events & (UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue) | UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLERR.rawValue)) != 0
    }
}

public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    static func system(_ call: String) -> ServerError {
        ServerError("\(call): \(String(cString: strerror(errno)))")
    }
}
