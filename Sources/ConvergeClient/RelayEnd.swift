import ConvergeNet
import ConvergeWire

/// One end of a relay: a byte stream, and how bytes are framed on it.
public struct RelayEnd {
    public enum Framing: Sendable {
        /// Raw bytes (stdin/stdout, a local TCP connection, the agent's socketpair).
        case plain
        /// WebSocket frames. `masksOutgoing`: this end is the client of the connection
        /// (RFC 6455 clients mask, except on our agent leg). `incoming`: what masking the
        /// peer's frames must have.
        case webSocket(masksOutgoing: Bool, incoming: WebSocketDecoder.Masking)
    }

    /// For messages: "server", "client", "agent", "stdio".
    public var name: String
    public var stream: any ByteStream
    public var framing: Framing
    /// Bytes already read from `stream` (past an HTTP head): relayed before anything read later.
    public var pending: [UInt8]

    public init(name: String, stream: any ByteStream, framing: Framing, pending: [UInt8] = []) {
        self.name = name
        self.stream = stream
        self.framing = framing
        self.pending = pending
    }

    public static func plain(_ stream: any ByteStream, name: String, pending: [UInt8] = []) -> RelayEnd {
        RelayEnd(name: name, stream: stream, framing: .plain, pending: pending)
    }

    public static func webSocket(_ stream: any ByteStream, name: String, masksOutgoing: Bool,
                                 incoming: WebSocketDecoder.Masking, pending: [UInt8] = []) -> RelayEnd {
        RelayEnd(name: name, stream: stream, framing: .webSocket(masksOutgoing: masksOutgoing, incoming: incoming), pending: pending)
    }
}

/// Timing and sizes. The defaults follow docs/protocol.md.
public struct RelayOptions: Sendable {
    /// Ping a WebSocket end after this many seconds without hearing from it: proxies in
    /// front (nginx: 60 s by default) drop connections that look idle.
    public var pingInterval: Double = 20
    /// An end silent this long is dead (a half-open TCP connection never says so itself).
    public var idleTimeout: Double = 60
    /// How long to wait, once the relay is ending, for the peer's close frame and for
    /// queued output to drain. A dead peer must not keep the process alive.
    public var closeGrace: Double = 2
    /// Bytes read per system call, per direction. Large reads mean few frames and syscalls.
    public var bufferSize: Int = 256 * 1024
    /// Largest data frame accepted from a peer (its payload is streamed, not buffered,
    /// but a bound stops absurd length fields).
    public var maxFrameSize: UInt64 = 1 << 24

    public init() {}
}

/// How a relay ended normally.
public enum RelayOutcome: Equatable, Sendable {
    /// A WebSocket end sent a close frame (code nil when it had none).
    case closed(by: RelaySide, code: UInt16?, reason: String)
    /// A plain end reached end of file, or its reader went away.
    case endOfInput(RelaySide)
    /// `Relay.stop` was called.
    case stopped
}

/// How a relay ended abnormally; `description` is one line naming the end.
public struct RelayError: Error, CustomStringConvertible {
    public enum Reason: Sendable {
        /// The peer broke RFC 6455; a close frame with the error's code was sent to it.
        case protocolViolation(WebSocketError)
        /// Nothing heard for `idleTimeout` seconds.
        case silent
        /// The connection ended without a close frame.
        case connectionLost
        /// A read or write failed (reset, TLS error).
        case io(NetError)
    }

    public let side: RelaySide
    public let reason: Reason
    public let description: String

    /// The peer sent a frame longer than `RelayOptions.maxFrameSize`.
    public var isFrameTooBig: Bool {
        if case .protocolViolation(let error) = reason { return error.closeCode == WebSocketCloseCode.tooBig }
        return false
    }
}
