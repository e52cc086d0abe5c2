import Glibc
import SystemPackage

/// The `SSH_FX_*` codes of an `SSH_FXP_STATUS` reply (v3 defines 0–8).
public struct SFTPStatusCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let ok = SFTPStatusCode(rawValue: 0)
    public static let endOfFile = SFTPStatusCode(rawValue: 1)
    public static let noSuchFile = SFTPStatusCode(rawValue: 2)
    public static let permissionDenied = SFTPStatusCode(rawValue: 3)
    public static let failure = SFTPStatusCode(rawValue: 4)
    public static let badMessage = SFTPStatusCode(rawValue: 5)
    public static let noConnection = SFTPStatusCode(rawValue: 6)
    public static let connectionLost = SFTPStatusCode(rawValue: 7)
    public static let operationUnsupported = SFTPStatusCode(rawValue: 8)

    public var description: String {
        switch self {
        case .ok: "OK"
        case .endOfFile: "EOF"
        case .noSuchFile: "NO_SUCH_FILE"
        case .permissionDenied: "PERMISSION_DENIED"
        case .failure: "FAILURE"
        case .badMessage: "BAD_MESSAGE"
        case .noConnection: "NO_CONNECTION"
        case .connectionLost: "CONNECTION_LOST"
        case .operationUnsupported: "OP_UNSUPPORTED"
        default: "STATUS_\(rawValue)"
        }
    }

    /// The v3 code for a failed system call. v3 has no code for "exists", "not empty"
    /// or "no space"; those become FAILURE, and the message says which.
    public init(_ errno: Errno) {
        switch errno {
        case .noSuchFileOrDirectory, .notDirectory, .badFileDescriptor, .tooManySymbolicLinkLevels:
            self = .noSuchFile
        case .notPermitted, .permissionDenied, .badAddress:
            self = .permissionDenied
        case .fileNameTooLong, .invalidArgument:
            self = .badMessage
        case .noFunction, .notSupported:
            self = .operationUnsupported
        default:
            self = .failure
        }
    }
}

/// A request that failed: the status code and readable message to send back.
struct SFTPStatusError: Error {
    var code: SFTPStatusCode
    var message: String

    init(_ code: SFTPStatusCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message is the C library's text for the errno ("File exists"), which tells
    /// the user more than the v3 code can.
    init(_ errno: Errno) {
        code = SFTPStatusCode(errno)
        message = String(cString: strerror(errno.rawValue))
    }

    static let invalidHandle = SFTPStatusError(.failure, "Invalid handle")
}
