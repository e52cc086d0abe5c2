import ConvergeNet
import ConvergeWire

/// Per-end state of a relay. What the end is doing is three small state machines, not
/// loose flags: its input, its output, and what poll must say before the next write.
final class RelayEndState {
    /// When the next read or write may be tried. TLS may need the socket in the other
    /// direction first (a renegotiation, a read that has to send).
    enum Readiness: Equatable {
        /// The last attempt did not block: try again without asking poll.
        case now
        /// Wait for poll to report the socket readable.
        case whenReadable
        /// Wait for poll to report the socket writable.
        case whenWritable
    }

    /// What is read from this end.
    enum Input: Equatable {
        /// Still reading, when `Readiness` allows.
        case open(Readiness)
        /// The end's close frame arrived: nothing more is read.
        case closeReceived
        /// Reading stopped (end of file, an error, or the relay is ending).
        case stopped
    }

    /// What is written to this end.
    enum Output: Equatable {
        /// Data and control frames go out.
        case open
        /// Ending after what is queued: a WebSocket has its close frame queued (nothing
        /// may follow it); a plain end is shut for writing once its queue is written.
        case closing
        /// Plain end: shut for writing.
        case shut
        /// Writes failed or the peer is gone: queued output is discarded.
        case broken
    }

    let name: String
    let stream: any ByteStream
    let isWebSocket: Bool
    let masks: Bool
    var decoder: WebSocketDecoder
    var pending: [UInt8]
    var pendingOffset = 0

    var input = Input.open(.now)
    var output = Output.open
    /// The last write blocked: wait for this before writing again.
    var writeReadiness = Readiness.now

    /// Whole control frames (and injected text frames) waiting to be written.
    var control: [UInt8] = []
    var controlOffset = 0
    var hasControl: Bool { controlOffset < control.count }

    var lastHeard: Double = 0
    var lastPing: Double = 0

    /// Still reading from this end.
    var isReading: Bool {
        if case .open = input { return true }
        return false
    }

    /// Reading stops; a close frame already received stays on record.
    func stopReading() {
        if isReading { input = .stopped }
    }

    var isBroken: Bool { output == .broken }

    /// Data may still be queued for this end: not after a WebSocket's close frame (a plain
    /// end's shutdown waits for its queue anyway).
    var takesData: Bool {
        switch output {
        case .open: return true
        case .closing, .shut: return !isWebSocket
        case .broken: return false
        }
    }

    /// A plain end whose shutdown waits for its queue to be written.
    var shutdownPending: Bool { !isWebSocket && output == .closing }

    init(_ end: RelayEnd, options: RelayOptions) {
        name = end.name
        stream = end.stream
        pending = end.pending
        switch end.framing {
        case .plain:
            isWebSocket = false
            masks = false
            decoder = WebSocketDecoder(masking: .forbidden)
        case .webSocket(let masksOutgoing, let incoming):
            isWebSocket = true
            masks = masksOutgoing
            decoder = WebSocketDecoder(masking: incoming, maxFrameSize: options.maxFrameSize)
        }
    }
}
