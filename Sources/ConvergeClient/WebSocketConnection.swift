import ConvergeNet
import ConvergeWire
import Glibc

/// A WebSocket the dialer opened: the stream, the server's 101 answer (the agent reads
/// `X-Converge-*` headers from it) and the bytes that came after that answer.
///
/// Two ways to use it: hand it to a `Relay` with `relayEnd(name:)` (wsproxy, tcptows),
/// or first exchange whole messages with `receive`/`send` (the agent waits for the
/// server's `session` text frame), then relay.
public final class WebSocketConnection {
    public let stream: any ByteStream
    public let response: HTTPResponseHead
    public let url: ServerURL
    public let masksOutgoing: Bool
    /// Bytes read from the stream but not consumed yet; `relayEnd` hands them on.
    public private(set) var pending: [UInt8]

    /// `receive` pings the server after this long without a frame from it...
    public var pingInterval: Double = 20
    /// ...and gives up after this long.
    public var idleTimeout: Double = 60

    private var keys = MaskKeys()
    private var lastHeard = Clock.monotonic()

    /// The peer spoke within the last `pingInterval`: the connection is known to be alive
    /// (not merely not yet given up).
    public var heardRecently: Bool { Clock.monotonic() - lastHeard < pingInterval }
    private var lastPing = Clock.monotonic()
    private var message: [UInt8] = []
    private var messageOpcode: WebSocketOpcode? = nil

    /// A whole message: `.text` or `.binary` (fragments joined), or `.close` with its payload.
    public struct Message: Equatable, Sendable {
        public var opcode: WebSocketOpcode
        public var payload: [UInt8]
        public var text: String { String(decoding: payload, as: UTF8.self) }
    }

    /// Largest message `receive` assembles (it is for small control messages).
    public static let maxMessageSize = 1 << 20

    init(stream: any ByteStream, response: HTTPResponseHead, pending: [UInt8], url: ServerURL, masksOutgoing: Bool) {
        self.stream = stream
        self.response = response
        self.pending = pending
        self.url = url
        self.masksOutgoing = masksOutgoing
    }

    /// This connection as a relay end (client framing: server frames arrive unmasked).
    /// Takes the pending bytes.
    public func relayEnd(name: String = "server") -> RelayEnd {
        defer { pending = [] }
        return .webSocket(stream, name: name, masksOutgoing: masksOutgoing, incoming: .forbidden, pending: pending)
    }

    /// The agent's paired connection as a relay end: once the server announced the
    /// session, it forwards the client's frames as the client sent them (masked, RFC 6455)
    /// and ours to the client as they are, so here the agent is the client's WebSocket
    /// server. Takes the pending bytes.
    public func sessionRelayEnd(name: String = "client") -> RelayEnd {
        defer { pending = [] }
        return .webSocket(stream, name: name, masksOutgoing: false, incoming: .required, pending: pending)
    }

    /// Sends one frame (masked if this side masks), waiting at most until `deadline`.
    public func send(_ opcode: WebSocketOpcode, _ payload: [UInt8], deadline: Double) throws(NetError) {
        let frame = WebSocketFrameHeader.frame(opcode, payload: payload, maskKey: masksOutgoing ? keys.key() : nil)
        try stream.writeAll(frame, deadline: deadline)
    }

    /// The next message, or nil when `deadline` passes first. Pings are answered, the
    /// server is pinged when quiet for `pingInterval`; silence for `idleTimeout`, end of
    /// stream or a protocol error throw (after a close frame for the latter).
    public func receive(until deadline: Double) throws(NetError) -> Message? {
        while true {
            if let message = try nextMessage() { return message }
            let now = Clock.monotonic()
            if now - lastHeard >= idleTimeout {
                throw NetError(.timeout, "\(url.hostHeader): nothing received for \(Int(idleTimeout)) s, connection considered dead", code: ETIMEDOUT)
            }
            if now - max(lastHeard, lastPing) >= pingInterval {
                try send(.ping, [], deadline: now + 5)
                lastPing = now
            }
            if now >= deadline { return nil }
            let wake = min(deadline, lastHeard + idleTimeout, max(lastHeard, lastPing) + pingInterval)
            var chunk = [UInt8](repeating: 0, count: 16384)
            let n: Int
            do {
                n = try chunk.withUnsafeMutableBytes { raw in
                    Result { () throws(NetError) in try stream.readSome(into: raw, deadline: wake) }
                }.get()
            } catch where error.kind == .timeout {
                continue
            }
            guard n > 0 else { throw NetError(.io, "\(url.hostHeader) closed the connection", code: ECONNRESET) }
            lastHeard = Clock.monotonic()
            pending += chunk[0..<n]
        }
    }

    /// Takes whole frames from `pending` until a message is complete.
    private func nextMessage() throws(NetError) -> Message? {
        while true {
            let parsed: (WebSocketFrameHeader, Int)?
            do {
                parsed = try pending.withUnsafeBytes { raw in
                    Result { () throws(WebSocketError) in try WebSocketFrameHeader.parse(raw) }
                }.get()
            } catch {
                try fail(error)
            }
            guard let (header, headerLength) = parsed else { return nil }
            if header.maskKey != nil { try fail(WebSocketError("masked frame from a server")) }
            if header.payloadLength > UInt64(WebSocketConnection.maxMessageSize) || message.count + Int(header.payloadLength) > WebSocketConnection.maxMessageSize {
                try fail(WebSocketError(closeCode: WebSocketCloseCode.tooBig, "message larger than \(WebSocketConnection.maxMessageSize) bytes"))
            }
            let total = headerLength + Int(header.payloadLength)  // after the size check: it cannot overflow
            guard pending.count >= total else { return nil }
            let payload = Array(pending[headerLength..<total])
            pending.removeFirst(total)
            switch header.opcode {
            case .ping:
                try send(.pong, payload, deadline: Clock.monotonic() + 5)
            case .pong:
                break
            case .close:
                let code = payload.count >= 2 ? Array(payload.prefix(2)) : []
                try? send(.close, code, deadline: Clock.monotonic() + 2)
                return Message(opcode: .close, payload: payload)
            case .text, .binary:
                if messageOpcode != nil { try fail(WebSocketError("new data frame inside a fragmented message")) }
                if header.fin { return Message(opcode: header.opcode, payload: payload) }
                messageOpcode = header.opcode
                message = payload
            case .continuation:
                guard let opcode = messageOpcode else { try fail(WebSocketError("continuation frame outside a fragmented message")) }
                message += payload
                if header.fin {
                    defer { message = []; messageOpcode = nil }
                    return Message(opcode: opcode, payload: message)
                }
            }
        }
    }

    private func fail(_ error: WebSocketError) throws(NetError) -> Never {
        try? send(.close, WebSocketFrameHeader.closePayload(code: error.closeCode, reason: error.description), deadline: Clock.monotonic() + 1)
        throw NetError(.io, "\(url.hostHeader): WebSocket protocol error: \(error.description)")
    }

    /// Sends a close frame (best effort, at most `wait` seconds) and closes the stream.
    public func close(code: UInt16 = WebSocketCloseCode.normal, reason: String = "", wait: Double = 1) {
        try? send(.close, WebSocketFrameHeader.closePayload(code: code, reason: reason), deadline: Clock.monotonic() + wait)
        stream.close()
    }
}
