import CShims
import Glibc
import SystemPackage

/// A thin epoll wrapper: the master watches thousands of idle agent sockets, and epoll
/// costs nothing per idle one (poll would scan them all on every wake-up).
struct EventLoop: ~Copyable {
    let fd: FileDescriptor
    private var events = [epoll_event](repeating: epoll_event(), count: 256)

    init() throws(ServerError) {
        let raw = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard raw >= 0 else { throw ServerError.system("epoll_create1") }
        fd = FileDescriptor(rawValue: raw)
    }

    deinit { try? fd.close() }

    func watch(_ watched: FileDescriptor, writable: Bool = false) {
        var event = epoll_event()
        event.events = UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue) | (writable ? UInt32(EPOLLOUT.rawValue) : 0)
        event.data.fd = watched.rawValue
        if epoll_ctl(fd.rawValue, EPOLL_CTL_MOD, watched.rawValue, &event) != 0 {
            _ = epoll_ctl(fd.rawValue, EPOLL_CTL_ADD, watched.rawValue, &event)
        }
    }

    func unwatch(_ watched: FileDescriptor) {
        var event = epoll_event()
        _ = epoll_ctl(fd.rawValue, EPOLL_CTL_DEL, watched.rawValue, &event)
    }

    /// Waits up to `timeoutMs` and returns the ready descriptors with what they are ready for.
    mutating func wait(timeoutMs: Int32) -> [(fd: FileDescriptor, ready: Readiness)] {
        let n = events.withUnsafeMutableBufferPointer { epoll_wait(fd.rawValue, $0.baseAddress, Int32($0.count), timeoutMs) }
        guard n > 0 else { return [] }
        return (0..<Int(n)).map { (FileDescriptor(rawValue: events[$0].data.fd), Readiness(events: events[$0].events)) }
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
