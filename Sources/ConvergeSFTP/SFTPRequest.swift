/// One packet from the client, decoded.
public enum SFTPClientMessage {
    /// `SSH_FXP_INIT`: the first packet of a session. Its extension pairs are ignored.
    case initialize(version: UInt32)
    case request(SFTPRequest)
}

/// A request carrying an id that its reply must echo.
public struct SFTPRequest {
    public var id: UInt32
    public var operation: SFTPOperation

    public init(id: UInt32, operation: SFTPOperation) {
        self.id = id
        self.operation = operation
    }
}

/// What a request asks for. Cases mirror the SFTP v3 packet types and the OpenSSH
/// extensions; a few are named for what they do rather than their wire name.
public enum SFTPOperation {
    case open(path: SFTPPath, flags: SFTPOpenFlags, attributes: SFTPAttributes)
    case close(handle: SFTPHandle)
    case read(handle: SFTPHandle, offset: UInt64, length: UInt32)
    /// `data` borrows the packet's memory: valid only while that packet is being handled,
    /// which lets the server `pwrite` straight from its input buffer.
    case write(handle: SFTPHandle, offset: UInt64, data: UnsafeRawBufferPointer)
    case lstat(path: SFTPPath)
    case fstat(handle: SFTPHandle)
    case setstat(path: SFTPPath, attributes: SFTPAttributes)
    case fsetstat(handle: SFTPHandle, attributes: SFTPAttributes)
    case opendir(path: SFTPPath)
    case readdir(handle: SFTPHandle)
    case remove(path: SFTPPath)
    case mkdir(path: SFTPPath, attributes: SFTPAttributes)
    case rmdir(path: SFTPPath)
    case realpath(path: SFTPPath)
    case stat(path: SFTPPath)
    /// v3 rename: fails if `newPath` exists.
    case rename(oldPath: SFTPPath, newPath: SFTPPath)
    case readlink(path: SFTPPath)
    /// OpenSSH sends the link's target first and the new link's path second, the
    /// reverse of the draft; every deployed client follows OpenSSH, so we do too.
    case symlink(targetPath: SFTPPath, linkPath: SFTPPath)

    /// `posix-rename@openssh.com`: rename(2), replacing an existing target.
    case posixRename(oldPath: SFTPPath, newPath: SFTPPath)
    case statvfs(path: SFTPPath)
    case fstatvfs(handle: SFTPHandle)
    case hardlink(existingPath: SFTPPath, newPath: SFTPPath)
    case fsync(handle: SFTPHandle)
    case limits
    case lsetstat(path: SFTPPath, attributes: SFTPAttributes)
    case expandPath(path: SFTPPath)

    /// A packet type we do not implement; answered with `SSH_FX_OP_UNSUPPORTED`.
    case unsupported(type: UInt8)
    /// An `SSH_FXP_EXTENDED` request we do not implement.
    case unsupportedExtension(name: [UInt8])
}

extension SFTPClientMessage {
    /// Decodes one packet body (the bytes after the uint32 length: type byte first).
    /// Write data in the result borrows `body`.
    public static func decode(_ body: UnsafeRawBufferPointer) throws(SFTPDecodeError) -> SFTPClientMessage {
        var reader = SFTPByteReader(body)
        let type = try reader.readUInt8("packet type")
        if type == SFTPMessageType.initialize {
            return .initialize(version: try reader.readUInt32("client version"))
        }
        let id = try reader.readUInt32("request id")
        do throws(SFTPDecodeError) {
            let operation = try SFTPOperation.decode(type: type, from: &reader)
            return .request(SFTPRequest(id: id, operation: operation))
        } catch var error {
            error.requestID = id
            throw error
        }
    }
}

extension SFTPOperation {
    // Trailing bytes after the last field are ignored, as OpenSSH does.
    static func decode(type: UInt8, from reader: inout SFTPByteReader) throws(SFTPDecodeError) -> SFTPOperation {
        switch type {
        case SFTPMessageType.open:
            let path = try reader.readPath("open path")
            let flags = SFTPOpenFlags(rawValue: try reader.readUInt32("open flags"))
            return .open(path: path, flags: flags, attributes: try SFTPAttributes.decode(from: &reader))
        case SFTPMessageType.close:
            return .close(handle: try reader.readHandle())
        case SFTPMessageType.read:
            let handle = try reader.readHandle()
            let offset = try reader.readUInt64("read offset")
            return .read(handle: handle, offset: offset, length: try reader.readUInt32("read length"))
        case SFTPMessageType.write:
            let handle = try reader.readHandle()
            let offset = try reader.readUInt64("write offset")
            return .write(handle: handle, offset: offset, data: try reader.readStringBytes("write data"))
        case SFTPMessageType.lstat:
            return .lstat(path: try reader.readPath("lstat path"))
        case SFTPMessageType.fstat:
            return .fstat(handle: try reader.readHandle())
        case SFTPMessageType.setstat:
            let path = try reader.readPath("setstat path")
            return .setstat(path: path, attributes: try SFTPAttributes.decode(from: &reader))
        case SFTPMessageType.fsetstat:
            let handle = try reader.readHandle()
            return .fsetstat(handle: handle, attributes: try SFTPAttributes.decode(from: &reader))
        case SFTPMessageType.opendir:
            return .opendir(path: try reader.readPath("opendir path"))
        case SFTPMessageType.readdir:
            return .readdir(handle: try reader.readHandle())
        case SFTPMessageType.remove:
            return .remove(path: try reader.readPath("remove path"))
        case SFTPMessageType.mkdir:
            let path = try reader.readPath("mkdir path")
            return .mkdir(path: path, attributes: try SFTPAttributes.decode(from: &reader))
        case SFTPMessageType.rmdir:
            return .rmdir(path: try reader.readPath("rmdir path"))
        case SFTPMessageType.realpath:
            return .realpath(path: try reader.readPath("realpath path"))
        case SFTPMessageType.stat:
            return .stat(path: try reader.readPath("stat path"))
        case SFTPMessageType.rename:
            let oldPath = try reader.readPath("rename old path")
            return .rename(oldPath: oldPath, newPath: try reader.readPath("rename new path"))
        case SFTPMessageType.readlink:
            return .readlink(path: try reader.readPath("readlink path"))
        case SFTPMessageType.symlink:
            let targetPath = try reader.readPath("symlink target path")
            return .symlink(targetPath: targetPath, linkPath: try reader.readPath("symlink link path"))
        case SFTPMessageType.extended:
            return try decodeExtended(from: &reader)
        default:
            return .unsupported(type: type)
        }
    }

    private static func decodeExtended(from reader: inout SFTPByteReader) throws(SFTPDecodeError) -> SFTPOperation {
        let name = try reader.readString("extension name")
        switch String(decoding: name, as: UTF8.self) {
        case SFTPExtensionName.posixRename:
            let oldPath = try reader.readPath("posix-rename old path")
            return .posixRename(oldPath: oldPath, newPath: try reader.readPath("posix-rename new path"))
        case SFTPExtensionName.statvfs:
            return .statvfs(path: try reader.readPath("statvfs path"))
        case SFTPExtensionName.fstatvfs:
            return .fstatvfs(handle: try reader.readHandle())
        case SFTPExtensionName.hardlink:
            let existingPath = try reader.readPath("hardlink old path")
            return .hardlink(existingPath: existingPath, newPath: try reader.readPath("hardlink new path"))
        case SFTPExtensionName.fsync:
            return .fsync(handle: try reader.readHandle())
        case SFTPExtensionName.limits:
            return .limits
        case SFTPExtensionName.lsetstat:
            let path = try reader.readPath("lsetstat path")
            return .lsetstat(path: path, attributes: try SFTPAttributes.decode(from: &reader))
        case SFTPExtensionName.expandPath:
            return .expandPath(path: try reader.readPath("expand-path path"))
        default:
            return .unsupportedExtension(name: name)
        }
    }
}

extension SFTPByteReader {
    /// A path string. A NUL byte would silently cut the path short in the C calls,
    /// so it is rejected here.
    mutating func readPath(_ field: StaticString) throws(SFTPDecodeError) -> SFTPPath {
        let bytes = try readString(field)
        guard !bytes.contains(0) else {
            throw SFTPDecodeError(.invalidValue, "\(field) contains a NUL byte")
        }
        return SFTPPath(bytes: bytes)
    }

    mutating func readHandle() throws(SFTPDecodeError) -> SFTPHandle {
        let bytes = try readStringBytes("handle")
        guard bytes.count == 4 else { return .invalid }
        return SFTPHandle(rawValue: UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self)))
    }
}
