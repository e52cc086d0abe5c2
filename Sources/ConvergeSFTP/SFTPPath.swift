/// A path exactly as the client sent it: bytes, not text, because Unix file names need
/// not be UTF-8 and must reach the file system unchanged.
public struct SFTPPath: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public init(_ text: String) {
        bytes = Array(text.utf8)
    }

    public var isAbsolute: Bool { bytes.first == UInt8(ascii: "/") }

    /// For messages and tests; invalid UTF-8 is shown with replacement characters.
    public var description: String { String(decoding: bytes, as: UTF8.self) }

    /// Calls `body` with a NUL-terminated copy, for the C file-system calls.
    func withCString<Result>(_ body: (UnsafePointer<CChar>) -> Result) -> Result {
        var terminated = bytes
        terminated.append(0)
        return terminated.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    /// `self/name`, without doubling a trailing slash.
    func appending(_ name: [UInt8]) -> SFTPPath {
        var joined = bytes
        if joined.last != UInt8(ascii: "/") { joined.append(UInt8(ascii: "/")) }
        joined.append(contentsOf: name)
        return SFTPPath(bytes: joined)
    }
}

/// The opaque handle we give the client for an open file or directory.
/// On the wire it is a 4-byte string holding this number.
public struct SFTPHandle: Hashable, Sendable {
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// What a handle string of any other length decodes to; never issued, so it
    /// matches no open handle and the request fails cleanly.
    public static let invalid = SFTPHandle(rawValue: .max)
}
