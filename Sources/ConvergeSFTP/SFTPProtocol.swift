// Wire constants of SFTP version 3 (draft-ietf-secsh-filexfer-02) and the
// OpenSSH extensions we serve. Numbers only; no behaviour lives here.

/// Message type byte that follows the uint32 length of every packet.
public enum SFTPMessageType {
    public static let initialize: UInt8 = 1
    public static let version: UInt8 = 2
    public static let open: UInt8 = 3
    public static let close: UInt8 = 4
    public static let read: UInt8 = 5
    public static let write: UInt8 = 6
    public static let lstat: UInt8 = 7
    public static let fstat: UInt8 = 8
    public static let setstat: UInt8 = 9
    public static let fsetstat: UInt8 = 10
    public static let opendir: UInt8 = 11
    public static let readdir: UInt8 = 12
    public static let remove: UInt8 = 13
    public static let mkdir: UInt8 = 14
    public static let rmdir: UInt8 = 15
    public static let realpath: UInt8 = 16
    public static let stat: UInt8 = 17
    public static let rename: UInt8 = 18
    public static let readlink: UInt8 = 19
    public static let symlink: UInt8 = 20

    public static let status: UInt8 = 101
    public static let handle: UInt8 = 102
    public static let data: UInt8 = 103
    public static let name: UInt8 = 104
    public static let attrs: UInt8 = 105

    public static let extended: UInt8 = 200
    public static let extendedReply: UInt8 = 201
}

/// The `SSH_FXF_*` bits of an OPEN request.
public struct SFTPOpenFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let read = SFTPOpenFlags(rawValue: 0x01)
    public static let write = SFTPOpenFlags(rawValue: 0x02)
    public static let append = SFTPOpenFlags(rawValue: 0x04)
    public static let create = SFTPOpenFlags(rawValue: 0x08)
    public static let truncate = SFTPOpenFlags(rawValue: 0x10)
    public static let exclusive = SFTPOpenFlags(rawValue: 0x20)
}

/// The `SSH_FILEXFER_ATTR_*` bits saying which fields an attribute block carries.
public enum SFTPAttributeFlags {
    public static let size: UInt32 = 0x0000_0001
    public static let ownerIDs: UInt32 = 0x0000_0002
    public static let permissions: UInt32 = 0x0000_0004
    public static let accessAndModificationTimes: UInt32 = 0x0000_0008
    public static let extended: UInt32 = 0x8000_0000
}

/// Names of the `SSH_FXP_EXTENDED` requests we understand, as OpenSSH spells them.
public enum SFTPExtensionName {
    public static let posixRename = "posix-rename@openssh.com"
    public static let statvfs = "statvfs@openssh.com"
    public static let fstatvfs = "fstatvfs@openssh.com"
    public static let hardlink = "hardlink@openssh.com"
    public static let fsync = "fsync@openssh.com"
    public static let limits = "limits@openssh.com"
    public static let lsetstat = "lsetstat@openssh.com"
    public static let expandPath = "expand-path@openssh.com"
}

/// Size limits. The client learns the advertised ones through `limits@openssh.com`;
/// OpenSSH's `sftp` then sends 255 KiB reads and writes, 64 in flight.
public enum SFTPLimits {
    /// The protocol version we speak; OpenSSH's client also speaks only 3.
    public static let protocolVersion: UInt32 = 3
    /// Largest message a client should send us (advertised; OpenSSH's own value).
    public static let advertisedPacketLength = 256 * 1024
    /// Largest READ/WRITE payload we advertise: the packet minus room for headers.
    public static let advertisedReadWriteLength = advertisedPacketLength - 1024
    /// Largest packet body we accept: the advertised size plus slack for clients that
    /// send a full 256 KiB of data plus its header. Anything longer ends the session.
    public static let maximumPacketBodyLength = advertisedPacketLength + 1024
    /// Largest READ we answer; longer requests get a short read, which the protocol allows.
    public static let maximumReadLength = advertisedPacketLength
    /// Open files and directories per session, so a client cannot exhaust our descriptors.
    public static let maximumOpenHandles = 512
    /// Directory entries per READDIR reply (OpenSSH sends 100 too).
    public static let directoryEntriesPerReply = 100
}
