/// The `ATTRS` block of SFTP v3: each field is present only if its flag bit is set.
public struct SFTPAttributes: Equatable, Sendable {
    public struct OwnerIDs: Equatable, Sendable {
        public var userID: UInt32
        public var groupID: UInt32
        public init(userID: UInt32, groupID: UInt32) {
            self.userID = userID
            self.groupID = groupID
        }
    }

    /// v3 carries times as uint32 seconds since the epoch.
    public struct Times: Equatable, Sendable {
        public var accessTime: UInt32
        public var modificationTime: UInt32
        public init(accessTime: UInt32, modificationTime: UInt32) {
            self.accessTime = accessTime
            self.modificationTime = modificationTime
        }
    }

    public struct ExtendedAttribute: Equatable, Sendable {
        public var name: [UInt8]
        public var data: [UInt8]
    }

    public var size: UInt64?
    public var ownerIDs: OwnerIDs?
    /// `st_mode` bits: file type and permissions.
    public var permissions: UInt32?
    public var times: Times?
    /// Vendor extensions: read so the parse stays in step, otherwise ignored.
    public var extended: [ExtendedAttribute] = []

    public init(
        size: UInt64? = nil, ownerIDs: OwnerIDs? = nil, permissions: UInt32? = nil,
        times: Times? = nil, extended: [ExtendedAttribute] = []
    ) {
        self.size = size
        self.ownerIDs = ownerIDs
        self.permissions = permissions
        self.times = times
        self.extended = extended
    }

    /// No fields at all, as sent with REALPATH and READLINK names.
    public static let empty = SFTPAttributes()

    var flags: UInt32 {
        var flags: UInt32 = 0
        if size != nil { flags |= SFTPAttributeFlags.size }
        if ownerIDs != nil { flags |= SFTPAttributeFlags.ownerIDs }
        if permissions != nil { flags |= SFTPAttributeFlags.permissions }
        if times != nil { flags |= SFTPAttributeFlags.accessAndModificationTimes }
        if !extended.isEmpty { flags |= SFTPAttributeFlags.extended }
        return flags
    }

    static func decode(from reader: inout SFTPByteReader) throws(SFTPDecodeError) -> SFTPAttributes {
        let flags = try reader.readUInt32("attribute flags")
        var attributes = SFTPAttributes()
        if flags & SFTPAttributeFlags.size != 0 {
            attributes.size = try reader.readUInt64("attribute size")
        }
        if flags & SFTPAttributeFlags.ownerIDs != 0 {
            let userID = try reader.readUInt32("attribute uid")
            let groupID = try reader.readUInt32("attribute gid")
            attributes.ownerIDs = OwnerIDs(userID: userID, groupID: groupID)
        }
        if flags & SFTPAttributeFlags.permissions != 0 {
            attributes.permissions = try reader.readUInt32("attribute permissions")
        }
        if flags & SFTPAttributeFlags.accessAndModificationTimes != 0 {
            let accessTime = try reader.readUInt32("attribute atime")
            let modificationTime = try reader.readUInt32("attribute mtime")
            attributes.times = Times(accessTime: accessTime, modificationTime: modificationTime)
        }
        if flags & SFTPAttributeFlags.extended != 0 {
            let declaredCount = try reader.readUInt32("extended attribute count")
            // Each pair takes at least 8 bytes, so a hostile count fails on truncation
            // long before it could cost much work.
            for _ in 0..<declaredCount {
                let name = try reader.readString("extended attribute name")
                let data = try reader.readString("extended attribute data")
                attributes.extended.append(ExtendedAttribute(name: name, data: data))
            }
        }
        return attributes
    }

    public func encode(into buffer: SFTPByteBuffer) {
        buffer.appendUInt32(flags)
        if let size { buffer.appendUInt64(size) }
        if let ownerIDs {
            buffer.appendUInt32(ownerIDs.userID)
            buffer.appendUInt32(ownerIDs.groupID)
        }
        if let permissions { buffer.appendUInt32(permissions) }
        if let times {
            buffer.appendUInt32(times.accessTime)
            buffer.appendUInt32(times.modificationTime)
        }
        if !extended.isEmpty {
            buffer.appendUInt32(UInt32(extended.count))
            for attribute in extended {
                buffer.appendString(attribute.name)
                buffer.appendString(attribute.data)
            }
        }
    }
}
