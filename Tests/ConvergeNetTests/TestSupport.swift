import ConvergeNet
import ConvergeWire
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

/// Runs a closure on its own pthread (the relay under test), so the test thread can play
/// the peers with blocking I/O. Tests only: the library itself never starts threads.
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

/// Runs a relay in the background and gives back its result.
func runRelay(_ relay: Relay) -> Background<Result<RelayOutcome, RelayError>> {
    nonisolated(unsafe) let relay = relay
    return Background { Result { () throws(RelayError) in try relay.run() } }
}

enum PeerError: Error { case timeout, closed }

/// The test's side of a socket: blocking I/O with deadlines, frame helpers.
final class Peer {
    let fd: Int32
    var inbox: [UInt8] = []
    var keys = MaskKeys()

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
    @discardableResult
    func fill(timeout: Double = 10) throws -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, Int32(timeout * 1000)) == 1 else { throw PeerError.timeout }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return false }
        inbox += chunk[0..<n]
        return true
    }

    /// Exactly `count` bytes (plain peer).
    func receive(_ count: Int, timeout: Double = 10) throws -> [UInt8] {
        while inbox.count < count {
            guard try fill(timeout: timeout) else { throw PeerError.closed }
        }
        defer { inbox.removeFirst(count) }
        return Array(inbox.prefix(count))
    }

    /// Everything until end of stream (plain peer).
    func receiveToEnd(timeout: Double = 10) throws -> [UInt8] {
        while try fill(timeout: timeout) {}
        defer { inbox = [] }
        return inbox
    }

    /// One frame, unmasked; `expectMasked` checks the mask bit.
    func frame(expectMasked: Bool? = nil, timeout: Double = 10) throws -> (WebSocketFrameHeader, [UInt8]) {
        while true {
            if let (header, length) = try inbox.withUnsafeBytes({ try WebSocketFrameHeader.parse($0) }),
               inbox.count >= length + Int(header.payloadLength) {
                if let expectMasked { precondition((header.maskKey != nil) == expectMasked, "unexpected masking") }
                var payload = Array(inbox[length..<length + Int(header.payloadLength)])
                if let key = header.maskKey { payload.withUnsafeMutableBytes { _ = WebSocketMask.apply(key: key, phase: 0, to: $0) } }
                inbox.removeFirst(length + Int(header.payloadLength))
                return (header, payload)
            }
            guard try fill(timeout: timeout) else { throw PeerError.closed }
        }
    }

    /// Data frames' payloads until `count` bytes are collected; control frames are returned aside.
    func data(_ count: Int, expectMasked: Bool? = nil) throws -> (bytes: [UInt8], control: [(WebSocketOpcode, [UInt8])]) {
        var bytes: [UInt8] = []
        var control: [(WebSocketOpcode, [UInt8])] = []
        while bytes.count < count {
            let (header, payload) = try frame(expectMasked: expectMasked)
            if header.opcode.isControl { control.append((header.opcode, payload)) } else { bytes += payload }
        }
        return (bytes, control)
    }

    func sendFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true, masked: Bool) {
        let key = masked ? keys.key() : nil
        var bytes = WebSocketFrameHeader(fin: fin, opcode: opcode, maskKey: key, payloadLength: UInt64(payload.count)).encoded
        let start = bytes.count
        bytes += payload
        if let key { bytes.withUnsafeMutableBytes { _ = WebSocketMask.apply(key: key, phase: 0, to: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) } }
        send(bytes)
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }
    func close() { Glibc.close(fd) }
}

/// A socketpair: the relay's descriptor and the test's peer.
func pair() throws -> (FileStream, Peer) {
    let (a, b) = try Socket.pair()
    return (FileStream(a), Peer(b))
}

func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
    return bytes
}

func quickOptions() -> RelayOptions {
    var options = RelayOptions()
    options.closeGrace = 1
    return options
}
