// Encoding of the server's replies, straight into the output buffer.

/// One entry of an `SSH_FXP_NAME` reply.
public struct SFTPNameEntry: Equatable, Sendable {
    public var filename: [UInt8]
    /// `ls -l` style line; clients print it as is.
    public var longname: [UInt8]
    public var attributes: SFTPAttributes

    public init(filename: [UInt8], longname: [UInt8], attributes: SFTPAttributes) {
        self.filename = filename
        self.longname = longname
        self.attributes = attributes
    }
}

extension SFTPByteBuffer {
    /// `SSH_FXP_VERSION` with `(name, data)` extension pairs.
    public func appendVersionReply(version: UInt32, extensions: [(name: String, data: String)]) {
        let start = beginPacket(type: SFTPMessageType.version)
        appendUInt32(version)
        for (name, data) in extensions {
            appendString(name)
            appendString(data)
        }
        endPacket(startingAt: start)
    }

    /// `SSH_FXP_STATUS`; the language tag is left empty, as OpenSSH does.
    public func appendStatusReply(id: UInt32, code: SFTPStatusCode, message: String) {
        let start = beginPacket(type: SFTPMessageType.status)
        appendUInt32(id)
        appendUInt32(code.rawValue)
        appendString(message)
        appendString("")
        endPacket(startingAt: start)
    }

    public func appendHandleReply(id: UInt32, handle: SFTPHandle) {
        let start = beginPacket(type: SFTPMessageType.handle)
        appendUInt32(id)
        appendHandle(handle)
        endPacket(startingAt: start)
    }

    public func appendAttributesReply(id: UInt32, attributes: SFTPAttributes) {
        let start = beginPacket(type: SFTPMessageType.attrs)
        appendUInt32(id)
        attributes.encode(into: self)
        endPacket(startingAt: start)
    }

    public func appendNameReply(id: UInt32, entries: [SFTPNameEntry]) {
        let start = beginPacket(type: SFTPMessageType.name)
        appendUInt32(id)
        appendUInt32(UInt32(entries.count))
        for entry in entries {
            appendString(entry.filename)
            appendString(entry.longname)
            entry.attributes.encode(into: self)
        }
        endPacket(startingAt: start)
    }

    /// `SSH_FXP_DATA` whose payload `fill` writes in place (the `pread` path: no copy).
    /// Returns the payload size; if it is 0 or `fill` throws, nothing is appended.
    public func appendDataReply<Failure: Error>(
        id: UInt32, maximumLength: Int,
        _ fill: (UnsafeMutableRawBufferPointer) throws(Failure) -> Int
    ) throws(Failure) -> Int {
        let start = beginPacket(type: SFTPMessageType.data)
        appendUInt32(id)
        let lengthOffset = count
        appendUInt32(0)
        let filled: Int
        do throws(Failure) {
            filled = try appendInPlace(maximumCount: maximumLength, fill)
        } catch {
            truncate(to: start)
            throw error
        }
        guard filled > 0 else {
            truncate(to: start)
            return 0
        }
        setUInt32(UInt32(filled), at: lengthOffset)
        endPacket(startingAt: start)
        return filled
    }

    /// `SSH_FXP_EXTENDED_REPLY` made of uint64 fields (statvfs, limits).
    public func appendExtendedReply(id: UInt32, uint64Fields: [UInt64]) {
        let start = beginPacket(type: SFTPMessageType.extendedReply)
        appendUInt32(id)
        for field in uint64Fields { appendUInt64(field) }
        endPacket(startingAt: start)
    }
}
