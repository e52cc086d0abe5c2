@testable import ConvergeClient
import ConvergeNet
import ConvergeWire
import FuzzSupport

/// WebSocket frames, as both readers of them see a stream.
///
/// Input: mode, 4 split sizes, then the peer's bytes, delivered in those pieces.
/// - mode % 4 = 0, 1, 2: `WebSocketDecoder` (the relays: server, worker, wsproxy,
///   tcptows, agent) with masking required, forbidden or either; (mode / 4) % 3 picks the
///   frame size limit: 125 bytes, 64 KiB (the master's, for offered agent connections) or
///   16 MiB (the default).
/// - mode % 4 = 3: `WebSocketConnection.receive` (whole messages: the agent waiting for
///   `session`, before it relays).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = Int(input.byte())
    var splits = Splits(from: &input)
    let bytes = input.rest()
    if mode % 4 == 3 {
        receiveMessages(ScriptedStream(splits.chunks(of: bytes)))
        return 0
    }
    let masking: WebSocketDecoder.Masking = [.required, .forbidden, .any][mode % 4]
    let maxFrameSize: UInt64 = [125, 1 << 16, 1 << 24][(mode / 4) % 3]
    // Pieces as reads deliver them must decode exactly as the whole stream at once.
    let split = decodeStream(splits.chunks(of: bytes), masking: masking, maxFrameSize: maxFrameSize)
    let whole = decodeStream([bytes[...]], masking: masking, maxFrameSize: maxFrameSize)
    require(split == whole, "decoding in pieces differs from decoding at once")
    return 0
}

/// What a decoder made of a stream: data bytes and control frames in order, how it ended.
private struct Decoded: Equatable {
    enum Item: Equatable { case data([UInt8]), control(WebSocketOpcode, [UInt8]) }
    var items: [Item] = []
    var error: WebSocketError? = nil

    mutating func addData(_ bytes: some Collection<UInt8>) {
        guard !bytes.isEmpty else { return }
        if case .data(let before)? = items.last { items[items.count - 1] = .data(before + bytes) }
        else { items.append(.data(Array(bytes))) }
    }
}

/// Feeds `chunks` the way a relay does: unused bytes stay in front of the next read.
private func decodeStream(_ chunks: [ArraySlice<UInt8>], masking: WebSocketDecoder.Masking, maxFrameSize: UInt64) -> Decoded {
    var decoder = WebSocketDecoder(masking: masking, maxFrameSize: maxFrameSize)
    var result = Decoded()
    var buffer: [UInt8] = []
    for chunk in chunks {
        buffer += chunk
        var events: [WebSocketDecoder.Event] = []
        let outcome = buffer.withUnsafeMutableBytes { raw in
            Result { () throws(WebSocketError) in try decoder.decode(raw, into: &events) }
        }
        var end = 0
        for event in events {
            switch event {
            case .data(let range):
                require(range.lowerBound >= end && range.upperBound <= buffer.count, "data range \(range) out of order or bounds")
                end = range.upperBound
                result.addData(buffer[range])
            case .control(let opcode, let payload):
                require(opcode.isControl && payload.count <= 125, "control event \(opcode) with \(payload.count) bytes")
                result.items.append(.control(opcode, payload))
            }
        }
        switch outcome {
        case .failure(let error):
            result.error = error
            return result
        case .success(let used):
            require(used >= end && used <= buffer.count, "used \(used) of \(buffer.count) bytes")
            // The relay keeps the rest in a fixed carry area (Relay.carryRoom, 256 bytes):
            // at most a partial header or control frame (14 + 125 bytes).
            require(buffer.count - used < 140, "\(buffer.count - used) bytes left over")
            buffer.removeFirst(used)
        }
    }
    return result
}

private let url = try! ServerURL(parsing: "ws://converge.example/agent/job-42")

private func receiveMessages(_ stream: ScriptedStream) {
    let connection = WebSocketConnection(stream: stream, response: HTTPResponseHead(status: 101), pending: [],
                                         url: url, masksOutgoing: false)
    let deadline = Clock.monotonic() + 60
    do {
        while let message = try connection.receive(until: deadline) {
            require(message.payload.count <= WebSocketConnection.maxMessageSize, "message of \(message.payload.count) bytes")
            if message.opcode == .close { return }
            require(message.opcode == .text || message.opcode == .binary, "message with opcode \(message.opcode)")
        }
    } catch {
        // The stream always ends; the error says how, on one line.
        require(!error.description.contains("\n"), "multi-line error")
    }
}
