/// A failure to set up or run an SSH session, with a message for the log.
public struct SSHSessionError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
