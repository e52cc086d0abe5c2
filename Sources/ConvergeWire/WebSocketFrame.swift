/// RFC 6455 frames: header parsing and encoding, and payload masking.

public enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA

    public var isControl: Bool { rawValue & 0x8 != 0 }
}

/// A protocol violation by the peer; `closeCode` is what to send in the close frame.
public struct WebSocketError: Error, Equatable, CustomStringConvertible {
    public let closeCode: UInt16
    public let description: String
    public init(closeCode: UInt16 = WebSocketCloseCode.protocolError, _ description: String) {
        self.closeCode = closeCode
        self.description = description
    }
}

public enum WebSocketCloseCode {
    public static let normal: UInt16 = 1000
    public static let goingAway: UInt16 = 1001
    public static let protocolError: UInt16 = 1002
    public static let tooBig: UInt16 = 1009
    public static let internalError: UInt16 = 1011
}

public struct WebSocketFrameHeader: Equatable, Sendable {
    public static let maxLength = 14
    public static let maxControlPayload = 125

    public var fin: Bool
    public var opcode: WebSocketOpcode
    /// The masking key, or nil for an unmasked frame.
    public var maskKey: UInt32?
    public var payloadLength: UInt64

    public init(fin: Bool = true, opcode: WebSocketOpcode, maskKey: UInt32? = nil, payloadLength: UInt64) {
        self.fin = fin
        self.opcode = opcode
        self.maskKey = maskKey
        self.payloadLength = payloadLength
    }

    /// Bytes this header takes on the wire.
    public var encodedLength: Int {
        (payloadLength < 126 ? 2 : payloadLength <= 0xFFFF ? 4 : 10) + (maskKey == nil ? 0 : 4)
    }

    /// Parses a header at the start of `bytes`: nil if more bytes are needed.
    /// Returns the header and its length; checks everything a header alone can show.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WebSocketError) -> (WebSocketFrameHeader, Int)? {
        guard bytes.count >= 2 else { return nil }
        let b0 = bytes[0], b1 = bytes[1]
        guard b0 & 0x70 == 0 else { throw WebSocketError("reserved bits set without a negotiated extension") }
        guard let opcode = WebSocketOpcode(rawValue: b0 & 0x0F) else {
            throw WebSocketError("reserved opcode 0x\(String(b0 & 0x0F, radix: 16))")
        }
        let fin = b0 & 0x80 != 0
        let masked = b1 & 0x80 != 0
        var length = UInt64(b1 & 0x7F)
        var offset = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = UInt64(bytes[2]) << 8 | UInt64(bytes[3])
            offset = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = 0
            for i in 2..<10 { length = length << 8 | UInt64(bytes[i]) }
            guard length >> 63 == 0 else { throw WebSocketError("payload length has its top bit set") }
            offset = 10
        }
        if opcode.isControl {
            guard fin else { throw WebSocketError("fragmented control frame") }
            guard length <= UInt64(maxControlPayload) else { throw WebSocketError("control frame longer than 125 bytes") }
        }
        var maskKey: UInt32? = nil
        if masked {
            guard bytes.count >= offset + 4 else { return nil }
            maskKey = UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
            offset += 4
        }
        return (WebSocketFrameHeader(fin: fin, opcode: opcode, maskKey: maskKey, payloadLength: length), offset)
    }

    /// Writes the header into `out` (at least `encodedLength` bytes); returns its length.
    @discardableResult
    public func encode(into out: UnsafeMutableRawBufferPointer) -> Int {
        out[0] = (fin ? 0x80 : 0) | opcode.rawValue
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        var offset: Int
        if payloadLength < 126 {
            out[1] = maskBit | UInt8(payloadLength)
            offset = 2
        } else if payloadLength <= 0xFFFF {
            out[1] = maskBit | 126
            out[2] = UInt8(payloadLength >> 8)
            out[3] = UInt8(payloadLength & 0xFF)
            offset = 4
        } else {
            out[1] = maskBit | 127
            for i in 0..<8 { out[2 + i] = UInt8(payloadLength >> (56 - 8 * UInt64(i)) & 0xFF) }
            offset = 10
        }
        if let key = maskKey {
            out[offset] = UInt8(key >> 24)
            out[offset + 1] = UInt8(key >> 16 & 0xFF)
            out[offset + 2] = UInt8(key >> 8 & 0xFF)
            out[offset + 3] = UInt8(key & 0xFF)
            offset += 4
        }
        return offset
    }

    public var encoded: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: WebSocketFrameHeader.maxLength) { buffer, count in
            count = encode(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// A complete frame (header + payload), masking the payload if `maskKey` is set.
    public static func frame(_ opcode: WebSocketOpcode, payload: [UInt8], maskKey: UInt32? = nil) -> [UInt8] {
        var bytes = WebSocketFrameHeader(opcode: opcode, maskKey: maskKey, payloadLength: UInt64(payload.count)).encoded
        let start = bytes.count
        bytes += payload
        if let key = maskKey {
            bytes.withUnsafeMutableBytes { WebSocketMask.apply(key: key, phase: 0, to: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        }
        return bytes
    }

    /// The payload of a close frame: code (big endian) and a UTF-8 reason cut to fit 125 bytes.
    public static func closePayload(code: UInt16, reason: String) -> [UInt8] {
        // Cut on a character boundary: the reason must stay valid UTF-8 (RFC 6455 §5.5.1).
        let utf8 = Array(reason.utf8)
        var end = min(utf8.count, maxControlPayload - 2)
        while end > 0, end < utf8.count, utf8[end] & 0xC0 == 0x80 { end -= 1 }
        return [UInt8(code >> 8), UInt8(code & 0xFF)] + utf8[..<end]
    }
}

/// XOR masking (RFC 6455 §5.3), eight bytes at a time.
public enum WebSocketMask {
    /// Masks or unmasks `bytes` in place. `phase` is how many payload bytes of this frame
    /// came before (the key rotates with it); returns the phase after these bytes.
    @discardableResult
    public static func apply(key: UInt32, phase: Int, to bytes: UnsafeMutableRawBufferPointer) -> Int {
        guard bytes.count > 0, let base = bytes.baseAddress else { return phase }
        // Key bytes in wire order, rotated so that byte 0 of `bytes` meets key byte `phase % 4`.
        let shift = UInt32((phase & 3) * 8)
        let rotated = shift == 0 ? key : (key << shift) | (key >> (32 - shift))
        let k = UInt32(bigEndian: rotated)  // memory order == wire order
        let k64 = UInt64(k) | UInt64(k) << 32
        var i = 0
        let count = bytes.count
        while i + 8 <= count {
            let v = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            base.storeBytes(of: v ^ k64, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            let keyByte = UInt8(truncatingIfNeeded: k >> (UInt32(i & 3) * 8))
            base.storeBytes(of: base.load(fromByteOffset: i, as: UInt8.self) ^ keyByte, toByteOffset: i, as: UInt8.self)
            i += 1
        }
        return (phase + count) & 3
    }
}
