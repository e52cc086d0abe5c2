/// Why bytes from the client could not be read as an SFTP packet.
///
/// Framing errors (`packetTooLarge`, `emptyPacket`) end the session: after them we no
/// longer know where the next packet starts. Errors inside a well-framed packet are
/// answered with `SSH_FX_BAD_MESSAGE` when `requestID` is known.
public struct SFTPDecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// A fixed-size field runs past the end of the packet.
        case truncated
        /// A string's length prefix claims more bytes than the packet holds.
        case badStringLength
        /// The length prefix exceeds `SFTPLimits.maximumPacketBodyLength`.
        case packetTooLarge
        /// The length prefix is zero: there is not even a type byte.
        case emptyPacket
        /// A field is well-formed but not acceptable (e.g. a path with a NUL byte).
        case invalidValue
    }

    public let kind: Kind
    public let message: String
    /// The request id, when it was read before the failure, so the reply can name it.
    public var requestID: UInt32?

    public init(_ kind: Kind, _ message: String, requestID: UInt32? = nil) {
        self.kind = kind
        self.message = message
        self.requestID = requestID
    }

    public var description: String { message }
}
