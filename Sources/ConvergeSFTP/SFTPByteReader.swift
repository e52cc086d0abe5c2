/// Reads big-endian SFTP fields from a packet body, checking every length against
/// what is left, so hostile input yields `SFTPDecodeError` and never a crash.
struct SFTPByteReader {
    private let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var remainingCount: Int { bytes.count - offset }

    mutating func readUInt8(_ field: StaticString) throws(SFTPDecodeError) -> UInt8 {
        try requireFixed(1, field)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt32(_ field: StaticString) throws(SFTPDecodeError) -> UInt32 {
        try requireFixed(4, field)
        defer { offset += 4 }
        return UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func readUInt64(_ field: StaticString) throws(SFTPDecodeError) -> UInt64 {
        try requireFixed(8, field)
        defer { offset += 8 }
        return UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// An SSH `string`: uint32 length, then that many bytes. The result borrows the
    /// packet's memory; copy it if it must outlive the packet.
    mutating func readStringBytes(_ field: StaticString) throws(SFTPDecodeError) -> UnsafeRawBufferPointer {
        let declared = try readUInt32(field)
        guard UInt64(declared) <= UInt64(remainingCount) else {
            throw SFTPDecodeError(
                .badStringLength,
                "\(field) claims \(declared) bytes but only \(remainingCount) remain in the packet")
        }
        let count = Int(declared)
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    /// An SSH `string` copied out of the packet.
    mutating func readString(_ field: StaticString) throws(SFTPDecodeError) -> [UInt8] {
        Array(try readStringBytes(field))
    }

    private func requireFixed(_ count: Int, _ field: StaticString) throws(SFTPDecodeError) {
        guard remainingCount >= count else {
            throw SFTPDecodeError(
                .truncated,
                "packet ends inside \(field): needs \(count) bytes, \(remainingCount) remain")
        }
    }
}
