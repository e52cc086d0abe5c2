import Glibc

/// A failure of the network layer, carrying one line a user can act on
/// (`cannot connect to example.com:443: Connection refused`).
///
/// `kind` lets callers choose a reaction (retry, exit, report) without parsing text;
/// `code` is the errno behind it, or 0.
public struct NetError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// A host name did not resolve.
        case resolve
        /// TCP connect failed (refused, unreachable, ...).
        case connect
        /// A deadline passed (connect, TLS handshake, HTTP head).
        case timeout
        /// TLS set-up or certificate verification failed.
        case tls
        /// An HTTP CONNECT proxy failed or refused, or a proxy setting is malformed.
        case proxy
        /// bind/listen failed.
        case listen
        /// A read, write or other system call failed on an established connection.
        case io
        /// A bad argument or setting (CA file, address text).
        case invalid
    }

    public let kind: Kind
    public let code: Int32
    public let description: String

    public init(_ kind: Kind, _ description: String, code: Int32 = 0) {
        self.kind = kind
        self.description = description
        self.code = code
    }

    /// An error for a failed system call: `"<context>: <strerror(code)>"`.
    public static func system(_ kind: Kind, _ context: String, code: Int32 = errno) -> NetError {
        NetError(kind, "\(context): \(errorText(code))", code: code)
    }

    /// `strerror` text for an errno value.
    public static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
