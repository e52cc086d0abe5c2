/// Splits a byte stream into packets: each is a uint32 body length, then the body.
public enum SFTPFraming {
    public static let lengthPrefixSize = 4

    public enum Scan: Equatable, Sendable {
        /// More bytes are needed. `frameLength` is the whole packet's size once the
        /// length prefix is known, or just the prefix size before that; it lets the
        /// reader make room for the packet in one place.
        case incomplete(frameLength: Int)
        /// A whole packet is present: prefix plus `bodyLength` bytes.
        case complete(bodyLength: Int)
    }

    /// Looks at the start of `bytes` for one packet. Throws when the length prefix is
    /// unacceptable: the stream can no longer be trusted, so the session must end.
    public static func scan(
        _ bytes: UnsafeRawBufferPointer,
        maximumBodyLength: Int = SFTPLimits.maximumPacketBodyLength
    ) throws(SFTPDecodeError) -> Scan {
        guard bytes.count >= lengthPrefixSize else {
            return .incomplete(frameLength: lengthPrefixSize)
        }
        let declared = UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self))
        guard declared > 0 else {
            throw SFTPDecodeError(.emptyPacket, "packet length is 0: no message type")
        }
        guard UInt64(declared) <= UInt64(maximumBodyLength) else {
            throw SFTPDecodeError(
                .packetTooLarge, "packet length \(declared) exceeds the limit of \(maximumBodyLength) bytes")
        }
        let bodyLength = Int(declared)
        guard bytes.count - lengthPrefixSize >= bodyLength else {
            return .incomplete(frameLength: lengthPrefixSize + bodyLength)
        }
        return .complete(bodyLength: bodyLength)
    }
}
