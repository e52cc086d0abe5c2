/// Decodes one direction of a WebSocket stream incrementally, for relays.
///
/// Data payload is handed out as soon as it arrives (unmasked in place), so a frame of
/// any length streams through a fixed buffer; control frames are handed out whole.
/// Message boundaries are not kept: a relay carries a byte stream (SSH) in binary frames.
public struct WebSocketDecoder: Sendable {
    public enum Masking: Sendable {
        /// Frames from a client to a server must be masked (RFC 6455 §5.1).
        case required
        /// Frames from a server to a client must not be.
        case forbidden
        /// Either (the agent leg: our agent does not mask, stock client libraries do).
        case any
    }

    public enum Event: Equatable, Sendable {
        /// Payload bytes of a text, binary or continuation frame, as a range of the buffer.
        case data(Range<Int>)
        case control(WebSocketOpcode, [UInt8])
    }

    public let masking: Masking
    public let maxFrameSize: UInt64

    // The data frame being streamed: bytes still to come, its mask and position in it.
    private var remaining: UInt64 = 0
    private var maskKey: UInt32? = nil
    private var maskPhase = 0
    // Inside a fragmented message (a data frame with FIN clear was seen).
    private var inMessage = false

    public init(masking: Masking, maxFrameSize: UInt64 = 1 << 24) {
        self.masking = masking
        self.maxFrameSize = maxFrameSize
    }

    /// Decodes what it can from `buffer`, appending events. Returns the number of bytes
    /// used; the caller keeps the rest (a partial header or control frame, under 140 bytes)
    /// and calls again with more bytes after it.
    public mutating func decode(_ buffer: UnsafeMutableRawBufferPointer, into events: inout [Event]) throws(WebSocketError) -> Int {
        var offset = 0
        while offset < buffer.count {
            if remaining > 0 {
                let take = Int(min(remaining, UInt64(buffer.count - offset)))
                let payload = UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + take])
                if let key = maskKey { maskPhase = WebSocketMask.apply(key: key, phase: maskPhase, to: payload) }
                events.append(.data(offset..<offset + take))
                remaining -= UInt64(take)
                offset += take
                continue
            }
            let rest = UnsafeRawBufferPointer(rebasing: buffer[offset...])
            guard let (header, headerLength) = try WebSocketFrameHeader.parse(rest) else { break }
            switch masking {
            case .required where header.maskKey == nil: throw WebSocketError("unmasked frame from a client")
            case .forbidden where header.maskKey != nil: throw WebSocketError("masked frame from a server")
            default: break
            }
            if header.opcode.isControl {
                let total = headerLength + Int(header.payloadLength)
                guard rest.count >= total else { break }
                var payload = Array(rest[headerLength..<total])
                if let key = header.maskKey {
                    payload.withUnsafeMutableBytes { WebSocketMask.apply(key: key, phase: 0, to: $0) }
                }
                if header.opcode == .close && payload.count == 1 { throw WebSocketError("close frame with a 1-byte payload") }
                events.append(.control(header.opcode, payload))
                offset += total
                continue
            }
            guard header.payloadLength <= maxFrameSize else {
                throw WebSocketError(closeCode: WebSocketCloseCode.tooBig, "frame of \(header.payloadLength) bytes exceeds the \(maxFrameSize)-byte limit")
            }
            if header.opcode == .continuation {
                guard inMessage else { throw WebSocketError("continuation frame outside a fragmented message") }
            } else if inMessage {
                throw WebSocketError("new data frame inside a fragmented message")
            }
            inMessage = !header.fin
            remaining = header.payloadLength
            maskKey = header.maskKey
            maskPhase = 0
            offset += headerLength
        }
        return offset
    }
}
