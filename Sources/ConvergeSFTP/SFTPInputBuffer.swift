/// Bytes read from the client, handed out one whole packet at a time.
///
/// Large reads go into one block of memory; packets are returned as views into it, so
/// WRITE data reaches `pwrite` without being copied. A view stays valid until the next
/// `fill`, which may move unread bytes to the front to make room.
public final class SFTPInputBuffer {
    private let storage: UnsafeMutableRawPointer
    public let capacity: Int
    private var start = 0
    private var end = 0
    /// Size of the packet at `start` once its length prefix has been seen.
    private var pendingFrameLength = SFTPFraming.lengthPrefixSize
    private let maximumBodyLength: Int

    /// `capacity` must hold the largest packet; several times that means fewer reads
    /// and fewer moves.
    public init(
        capacity: Int = 4 * (SFTPLimits.maximumPacketBodyLength + SFTPFraming.lengthPrefixSize),
        maximumBodyLength: Int = SFTPLimits.maximumPacketBodyLength
    ) {
        precondition(capacity >= maximumBodyLength + SFTPFraming.lengthPrefixSize, "buffer smaller than a packet")
        self.capacity = capacity
        self.maximumBodyLength = maximumBodyLength
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        storage.deallocate()
    }

    public var unreadCount: Int { end - start }

    /// The next complete packet's body (type byte first), or nil if more bytes are
    /// needed. Throws if the length prefix is unacceptable.
    public func nextPacket() throws(SFTPDecodeError) -> UnsafeRawBufferPointer? {
        let unread = UnsafeRawBufferPointer(start: storage + start, count: end - start)
        switch try SFTPFraming.scan(unread, maximumBodyLength: maximumBodyLength) {
        case .incomplete(let frameLength):
            pendingFrameLength = frameLength
            return nil
        case .complete(let bodyLength):
            let body = UnsafeRawBufferPointer(
                start: storage + start + SFTPFraming.lengthPrefixSize, count: bodyLength)
            start += SFTPFraming.lengthPrefixSize + bodyLength
            pendingFrameLength = SFTPFraming.lengthPrefixSize
            return body
        }
    }

    /// Lets `read` put bytes into the free space (e.g. read(2)); returns its result,
    /// 0 meaning end of input. Unread bytes move to the front only when the pending
    /// packet would not otherwise fit, so most packets are never copied.
    public func fill<Failure: Error>(
        _ read: (UnsafeMutableRawBufferPointer) throws(Failure) -> Int
    ) throws(Failure) -> Int {
        if start == end {
            start = 0
            end = 0
        } else if start + pendingFrameLength > capacity || end == capacity {
            let unread = end - start
            storage.copyMemory(from: storage + start, byteCount: unread)
            start = 0
            end = unread
        }
        let space = UnsafeMutableRawBufferPointer(start: storage + end, count: capacity - end)
        let received = try read(space)
        precondition(received >= 0 && received <= space.count, "read reported more bytes than it had room for")
        end += received
        return received
    }
}
