import Glibc
import SystemPackage

/// A closure handed to a new pthread.
private final class ThreadBody: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

private final class ValueBox<T>: @unchecked Sendable {
    var value: T?
}

/// Runs a closure on its own pthread (the tunnel under test), so the test thread can play
/// the peers with blocking I/O. Tests only: the server never starts threads.
final class Background<T>: @unchecked Sendable {
    private var thread = pthread_t()
    private let box = ValueBox<T>()

    init(_ body: @escaping () -> T) {
        let box = self.box
        let raw = Unmanaged.passRetained(ThreadBody { box.value = body() }).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, raw)
        precondition(rc == 0, "pthread_create failed")
    }

    func join() -> T {
        pthread_join(thread, nil)
        return box.value!
    }
}

enum PeerError: Error { case timeout, closed }

/// The test's side of a socket: blocking I/O with deadlines.
final class Peer {
    let fd: Int32
    private var inbox: [UInt8] = []

    init(_ fd: FileDescriptor) { self.fd = fd.rawValue }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            precondition(n > 0, "peer send failed: \(errno)")
            offset += n
        }
    }

    /// Reads more bytes into the inbox; false at end of stream.
    private func fill(timeout: Double) throws -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, Int32(timeout * 1000)) == 1 else { throw PeerError.timeout }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return false }
        inbox += chunk[0..<n]
        return true
    }

    /// Exactly `count` bytes.
    func receive(_ count: Int, timeout: Double = 10) throws -> [UInt8] {
        while inbox.count < count {
            guard try fill(timeout: timeout) else { throw PeerError.closed }
        }
        defer { inbox.removeFirst(count) }
        return Array(inbox.prefix(count))
    }

    /// Everything until end of stream.
    func receiveToEnd(timeout: Double = 10) throws -> [UInt8] {
        while try fill(timeout: timeout) {}
        defer { inbox = [] }
        return inbox
    }
}

func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
    return bytes
}
