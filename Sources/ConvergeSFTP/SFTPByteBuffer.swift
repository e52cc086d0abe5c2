/// A growable run of bytes that SFTP packets are encoded into.
///
/// A class over raw memory rather than `[UInt8]` because the hot path needs two things
/// an array makes awkward: `pread` straight into uninitialised space at the end, and
/// patching a packet's length prefix once its body is known.
public final class SFTPByteBuffer {
    private var storage: UnsafeMutableRawPointer
    public private(set) var capacity: Int
    public private(set) var count = 0

    public init(capacity: Int = 4096) {
        self.capacity = max(capacity, 64)
        storage = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit {
        storage.deallocate()
    }

    /// The bytes written so far. Valid until the buffer is next changed.
    public var readableBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage, count: count)
    }

    /// A copy of the contents, for tests and small callers.
    public var bytes: [UInt8] { Array(readableBytes) }

    public func removeAll() {
        count = 0
    }

    /// Forgets everything after `newCount`, undoing a partly written packet.
    public func truncate(to newCount: Int) {
        precondition(newCount >= 0 && newCount <= count, "truncate beyond the written bytes")
        count = newCount
    }

    public func reserveCapacity(_ minimumCapacity: Int) {
        guard minimumCapacity > capacity else { return }
        let newCapacity = max(minimumCapacity, capacity * 2)
        let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newStorage.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }

    public func appendUInt8(_ value: UInt8) {
        reserveCapacity(count + 1)
        storage.storeBytes(of: value, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    public func appendUInt32(_ value: UInt32) {
        reserveCapacity(count + 4)
        storage.storeBytes(of: value.bigEndian, toByteOffset: count, as: UInt32.self)
        count += 4
    }

    public func appendUInt64(_ value: UInt64) {
        reserveCapacity(count + 8)
        storage.storeBytes(of: value.bigEndian, toByteOffset: count, as: UInt64.self)
        count += 8
    }

    public func appendBytes(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserveCapacity(count + bytes.count)
        (storage + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    public func appendBytes(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { appendBytes($0) }
    }

    /// An SSH `string`: uint32 length, then the bytes.
    public func appendString(_ bytes: UnsafeRawBufferPointer) {
        appendUInt32(UInt32(bytes.count))
        appendBytes(bytes)
    }

    public func appendString(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { appendString($0) }
    }

    public func appendString(_ text: String) {
        var text = text
        text.withUTF8 { appendString(UnsafeRawBufferPointer($0)) }
    }

    /// Overwrites four bytes already written, e.g. a length prefix.
    public func setUInt32(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= count, "patch outside the written bytes")
        storage.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
    }

    /// Lets `fill` write up to `maximumCount` bytes in place (e.g. `pread`) and keeps
    /// as many as it says it wrote. Nothing is kept if it throws.
    public func appendInPlace<Failure: Error>(
        maximumCount: Int,
        _ fill: (UnsafeMutableRawBufferPointer) throws(Failure) -> Int
    ) throws(Failure) -> Int {
        reserveCapacity(count + maximumCount)
        let space = UnsafeMutableRawBufferPointer(start: storage + count, count: maximumCount)
        let written = try fill(space)
        precondition(written >= 0 && written <= maximumCount, "fill reported more bytes than it had room for")
        count += written
        return written
    }
}

extension SFTPByteBuffer {
    /// Starts a packet: writes a placeholder length and the type byte.
    /// Returns where the packet starts, for `endPacket`.
    public func beginPacket(type: UInt8) -> Int {
        let start = count
        appendUInt32(0)
        appendUInt8(type)
        return start
    }

    /// Fills in the length of the packet begun at `start`.
    public func endPacket(startingAt start: Int) {
        setUInt32(UInt32(count - start - 4), at: start)
    }
}
