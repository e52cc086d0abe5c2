import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

public enum PeerError: Error { case timeout, closed }

/// The test's side of a socket: blocking I/O with deadlines, frame helpers.
public final class Peer {
    public let fd: Int32
    public var inbox: [UInt8] = []

    public init(_ fd: FileDescriptor) { self.fd = fd.rawValue }

    public func send(_ bytes: [UInt8]) {
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
    public func fill(timeout: Double = 10) throws -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, Int32(timeout * 1000)) == 1 else { throw PeerError.timeout }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return false }
        inbox += chunk[0..<n]
        return true
    }

    /// Exactly `count` bytes (plain peer).
    public func receive(_ count: Int, timeout: Double = 10) throws -> [UInt8] {
        while inbox.count < count {
            guard try fill(timeout: timeout) else { throw PeerError.closed }
        }
        defer { inbox.removeFirst(count) }
        return Array(inbox.prefix(count))
    }

    /// Everything until end of stream (plain peer).
    public func receiveToEnd(timeout: Double = 10) throws -> [UInt8] {
        while try fill(timeout: timeout) {}
        defer { inbox = [] }
        return inbox
    }

    /// One frame, unmasked; `expectMasked` checks the mask bit.
    public func frame(expectMasked: Bool? = nil, timeout: Double = 10) throws -> (WebSocketFrameHeader, [UInt8]) {
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
    public func data(_ count: Int, expectMasked: Bool? = nil) throws -> (bytes: [UInt8], control: [(WebSocketOpcode, [UInt8])]) {
        var bytes: [UInt8] = []
        var control: [(WebSocketOpcode, [UInt8])] = []
        while bytes.count < count {
            let (header, payload) = try frame(expectMasked: expectMasked)
            if header.opcode.isControl { control.append((header.opcode, payload)) } else { bytes += payload }
        }
        return (bytes, control)
    }

    public func sendFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true, masked: Bool) {
        let key = masked ? UInt32.random(in: .min ... .max) : nil
        var bytes = WebSocketFrameHeader(fin: fin, opcode: opcode, maskKey: key, payloadLength: UInt64(payload.count)).encoded
        let start = bytes.count
        bytes += payload
        if let key { bytes.withUnsafeMutableBytes { _ = WebSocketMask.apply(key: key, phase: 0, to: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) } }
        send(bytes)
    }

    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }
    public func close() { Glibc.close(fd) }
}

/// A socketpair: the relay's descriptor and the test's peer.
public func pair() throws -> (FileStream, Peer) {
    let (a, b) = try Socket.pair()
    return (FileStream(a), Peer(b))
}

public func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
    return bytes
}
