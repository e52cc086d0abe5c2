import ConvergeNet

/// Why a WebSocket connection could not be made, as one line for the user
/// (`no agent is connected under ID "x" (404 from server)`).
public struct DialError: Error, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// DNS, TCP connect, proxy or timeout: `network` carries the details.
        case network(NetError.Kind)
        /// TLS set-up or certificate verification.
        case tls
        /// The server answered with an HTTP status other than 101 (see `status`).
        case refused
        /// The answer was not a valid WebSocket upgrade.
        case handshake
        /// The URL given is malformed.
        case invalidURL
    }

    public let kind: Kind
    /// The HTTP status when the server refused the upgrade (404, 409, 503...).
    public let status: Int?
    public let description: String

    public init(_ kind: Kind, _ description: String, status: Int? = nil) {
        self.kind = kind
        self.description = description
        self.status = status
    }

    init(_ error: NetError) {
        self.init(error.kind == .tls ? .tls : .network(error.kind), error.description)
    }
}
