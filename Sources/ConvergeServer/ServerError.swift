import Glibc
import SystemPackage

/// Why the server could not start (or a worker could not take a session): one line for the log.
public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    static func system(_ call: String) -> ServerError {
        ServerError("\(call): \(Errno(rawValue: errno))")
    }
}
