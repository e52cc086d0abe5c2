/// Finds where an HTTP head ends (its blank line: CRLF CRLF, or bare LF LF which some
/// clients send) in bytes that arrive read by read. It remembers how far it looked, so each
/// byte is looked at once however the head is split: a client sending its head a byte per
/// packet costs the server no more than one sending it whole.
public struct HTTPHeadBoundary: Sendable {
    private var scanned = 0
    private var last: UInt8 = 0
    private var beforeLast: UInt8 = 0

    public init() {}

    /// The head's length once its blank line is in `bytes`, nil while more are needed.
    /// `bytes` is everything passed before plus what arrived since. Throws 431 past `limit`
    /// bytes and 400 on a NUL byte.
    public mutating func find(in bytes: [UInt8], limit: Int) throws(HTTPError) -> Int? {
        while scanned < bytes.count {
            let byte = bytes[scanned]
            scanned += 1
            if scanned > limit { throw HTTPError(status: 431, "head larger than \(limit) bytes") }
            if byte == 0x0A && (last == 0x0A || (last == 0x0D && beforeLast == 0x0A)) { return scanned }
            if byte == 0 { throw HTTPError("NUL byte in head") }
            beforeLast = last
            last = byte
        }
        return nil
    }
}
