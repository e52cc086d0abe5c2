import ConvergeWire

/// One direction's buffer: [headroom | carried partial frame | read bytes].
/// Pending output is always a range of it: `outStart..<outEnd`.
final class RelayFlow {
    let buffer: UnsafeMutableRawBufferPointer
    var outStart = 0
    var outEnd = 0
    var carryStart = Relay.headroom
    var carryEnd = Relay.headroom
    var forwarded: UInt64 = 0
    var events: [WebSocketDecoder.Event] = []

    var hasOutput: Bool { outStart < outEnd }

    init(capacity: Int) {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        events.reserveCapacity(64)
    }

    deinit { buffer.deallocate() }
}
