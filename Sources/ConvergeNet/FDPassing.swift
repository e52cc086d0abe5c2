import CShims
import Glibc
import SystemPackage

/// Handing open descriptors to another process over a Unix socket (SCM_RIGHTS), with a
/// payload in the same message: the server's master gives a splice worker its two
/// connections plus the bytes it already read from them.
///
/// Use a `Socket.pair(.seqpacket)` so one `send` is one `receive`; on a stream socket a
/// payload can be split or merged with the next one.
public enum FDPassing {
    /// The most descriptors one message carries (CShims' limit).
    public static let maxDescriptors = 8

    /// Sends `fds` and `payload` (at least one byte: a message must carry data) in one
    /// message. The descriptors stay open here; close them once sent.
    public static func send(_ fds: [FileDescriptor], payload: [UInt8], over socket: FileDescriptor) throws(NetError) {
        precondition(!payload.isEmpty && fds.count <= maxDescriptors, "FDPassing.send: 1+ payload bytes, at most 8 descriptors")
        let raw = fds.map(\.rawValue)
        let sent = payload.withUnsafeBytes { bytes in
            raw.withUnsafeBufferPointer { cshim_send_fds(socket.rawValue, $0.baseAddress, Int32($0.count), bytes.baseAddress, bytes.count) }
        }
        guard sent >= 0 else { throw NetError.system(.io, "sending descriptors") }
        guard sent == payload.count else { throw NetError(.io, "sending descriptors: message cut short (\(sent) of \(payload.count) bytes)") }
    }

    /// Receives one message: its descriptors (close-on-exec) and payload (at most
    /// `maxBytes`). Returns nil at end of stream. Descriptors beyond `maxFDs` are closed.
    public static func receive(from socket: FileDescriptor, maxFDs: Int = maxDescriptors, maxBytes: Int = 65536) throws(NetError) -> (fds: [FileDescriptor], payload: [UInt8])? {
        precondition(maxFDs <= maxDescriptors)
        var fds = [Int32](repeating: -1, count: maxDescriptors)
        var count: Int32 = 0
        var payload = [UInt8](repeating: 0, count: maxBytes)
        let n = payload.withUnsafeMutableBytes { bytes in
            fds.withUnsafeMutableBufferPointer { cshim_recv_fds(socket.rawValue, $0.baseAddress, Int32(maxFDs), &count, bytes.baseAddress, bytes.count) }
        }
        guard n >= 0 else { throw NetError.system(.io, "receiving descriptors") }
        let received = fds.prefix(Int(count)).map { FileDescriptor(rawValue: $0) }
        if n == 0 && count == 0 { return nil }
        payload.removeSubrange(n...)
        return (received, payload)
    }
}
