import Glibc

/// The parts of `struct stat` that SFTP v3 and `ls -l` need, as a plain value.
public struct SFTPFileStatus: Equatable, Sendable {
    public var mode: UInt32
    public var linkCount: UInt64
    public var userID: UInt32
    public var groupID: UInt32
    public var size: UInt64
    public var accessTime: Int
    public var modificationTime: Int

    public init(
        mode: UInt32, linkCount: UInt64, userID: UInt32, groupID: UInt32, size: UInt64,
        accessTime: Int, modificationTime: Int
    ) {
        self.mode = mode
        self.linkCount = linkCount
        self.userID = userID
        self.groupID = groupID
        self.size = size
        self.accessTime = accessTime
        self.modificationTime = modificationTime
    }

    init(_ status: stat) {
        mode = UInt32(status.st_mode)
        linkCount = UInt64(status.st_nlink)
        userID = UInt32(status.st_uid)
        groupID = UInt32(status.st_gid)
        size = UInt64(max(status.st_size, 0))
        accessTime = Int(status.st_atim.tv_sec)
        modificationTime = Int(status.st_mtim.tv_sec)
    }

    var fileType: UInt32 { mode & UInt32(S_IFMT) }
    public var isDirectory: Bool { fileType == UInt32(S_IFDIR) }
    public var isRegularFile: Bool { fileType == UInt32(S_IFREG) }
    public var isSymbolicLink: Bool { fileType == UInt32(S_IFLNK) }

    /// Everything v3 can carry. Times outside uint32 are clamped rather than wrapped.
    public var attributes: SFTPAttributes {
        SFTPAttributes(
            size: size,
            ownerIDs: .init(userID: userID, groupID: groupID),
            permissions: mode,
            times: .init(
                accessTime: Self.wireTime(accessTime), modificationTime: Self.wireTime(modificationTime)))
    }

    private static func wireTime(_ seconds: Int) -> UInt32 {
        UInt32(clamping: seconds)
    }
}

/// `struct statvfs`, in the field order of the `statvfs@openssh.com` reply.
public struct SFTPFileSystemStatus: Equatable, Sendable {
    public var blockSize: UInt64
    public var fragmentSize: UInt64
    public var totalBlocks: UInt64
    public var freeBlocks: UInt64
    public var availableBlocks: UInt64
    public var totalInodes: UInt64
    public var freeInodes: UInt64
    public var availableInodes: UInt64
    public var fileSystemID: UInt64
    /// `SSH_FXE_STATVFS_ST_RDONLY` (1) and `SSH_FXE_STATVFS_ST_NOSUID` (2).
    public var flags: UInt64
    public var maximumNameLength: UInt64

    init(_ status: statvfs) {
        blockSize = UInt64(status.f_bsize)
        fragmentSize = UInt64(status.f_frsize)
        totalBlocks = UInt64(status.f_blocks)
        freeBlocks = UInt64(status.f_bfree)
        availableBlocks = UInt64(status.f_bavail)
        totalInodes = UInt64(status.f_files)
        freeInodes = UInt64(status.f_ffree)
        availableInodes = UInt64(status.f_favail)
        fileSystemID = UInt64(status.f_fsid)
        // The wire values are the protocol's own, not the host's ST_* numbers.
        var wireFlags: UInt64 = 0
        if status.f_flag & UInt(ST_RDONLY) != 0 { wireFlags |= 1 }
        if status.f_flag & UInt(ST_NOSUID) != 0 { wireFlags |= 2 }
        flags = wireFlags
        maximumNameLength = UInt64(status.f_namemax)
    }

    var wireFields: [UInt64] {
        [
            blockSize, fragmentSize, totalBlocks, freeBlocks, availableBlocks, totalInodes, freeInodes,
            availableInodes, fileSystemID, flags, maximumNameLength,
        ]
    }
}
