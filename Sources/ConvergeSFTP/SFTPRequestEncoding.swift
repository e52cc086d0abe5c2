// Encoding of client messages: the inverse of `SFTPClientMessage.decode`. The server
// never sends these; they exist for round-trip tests and for building fuzzer seeds.

extension SFTPClientMessage {
    /// Appends the whole packet, length prefix included.
    public func encode(into buffer: SFTPByteBuffer) {
        switch self {
        case .initialize(let version):
            let start = buffer.beginPacket(type: SFTPMessageType.initialize)
            buffer.appendUInt32(version)
            buffer.endPacket(startingAt: start)
        case .request(let request):
            request.encode(into: buffer)
        }
    }
}

extension SFTPRequest {
    public func encode(into buffer: SFTPByteBuffer) {
        let start = buffer.beginPacket(type: operation.messageType)
        buffer.appendUInt32(id)
        operation.encodeFields(into: buffer)
        buffer.endPacket(startingAt: start)
    }
}

extension SFTPOperation {
    var messageType: UInt8 {
        switch self {
        case .open: SFTPMessageType.open
        case .close: SFTPMessageType.close
        case .read: SFTPMessageType.read
        case .write: SFTPMessageType.write
        case .lstat: SFTPMessageType.lstat
        case .fstat: SFTPMessageType.fstat
        case .setstat: SFTPMessageType.setstat
        case .fsetstat: SFTPMessageType.fsetstat
        case .opendir: SFTPMessageType.opendir
        case .readdir: SFTPMessageType.readdir
        case .remove: SFTPMessageType.remove
        case .mkdir: SFTPMessageType.mkdir
        case .rmdir: SFTPMessageType.rmdir
        case .realpath: SFTPMessageType.realpath
        case .stat: SFTPMessageType.stat
        case .rename: SFTPMessageType.rename
        case .readlink: SFTPMessageType.readlink
        case .symlink: SFTPMessageType.symlink
        case .posixRename, .statvfs, .fstatvfs, .hardlink, .fsync, .limits, .lsetstat, .expandPath,
            .unsupportedExtension:
            SFTPMessageType.extended
        case .unsupported(let type): type
        }
    }

    /// The fields after the request id.
    func encodeFields(into buffer: SFTPByteBuffer) {
        switch self {
        case .open(let path, let flags, let attributes):
            buffer.appendString(path.bytes)
            buffer.appendUInt32(flags.rawValue)
            attributes.encode(into: buffer)
        case .close(let handle), .fstat(let handle), .readdir(let handle):
            buffer.appendHandle(handle)
        case .read(let handle, let offset, let length):
            buffer.appendHandle(handle)
            buffer.appendUInt64(offset)
            buffer.appendUInt32(length)
        case .write(let handle, let offset, let data):
            buffer.appendHandle(handle)
            buffer.appendUInt64(offset)
            buffer.appendString(data)
        case .lstat(let path), .opendir(let path), .remove(let path), .rmdir(let path),
            .realpath(let path), .stat(let path), .readlink(let path):
            buffer.appendString(path.bytes)
        case .setstat(let path, let attributes), .mkdir(let path, let attributes):
            buffer.appendString(path.bytes)
            attributes.encode(into: buffer)
        case .fsetstat(let handle, let attributes):
            buffer.appendHandle(handle)
            attributes.encode(into: buffer)
        case .rename(let oldPath, let newPath):
            buffer.appendString(oldPath.bytes)
            buffer.appendString(newPath.bytes)
        case .symlink(let targetPath, let linkPath):
            buffer.appendString(targetPath.bytes)
            buffer.appendString(linkPath.bytes)
        case .posixRename(let oldPath, let newPath):
            buffer.appendString(SFTPExtensionName.posixRename)
            buffer.appendString(oldPath.bytes)
            buffer.appendString(newPath.bytes)
        case .statvfs(let path):
            buffer.appendString(SFTPExtensionName.statvfs)
            buffer.appendString(path.bytes)
        case .fstatvfs(let handle):
            buffer.appendString(SFTPExtensionName.fstatvfs)
            buffer.appendHandle(handle)
        case .hardlink(let existingPath, let newPath):
            buffer.appendString(SFTPExtensionName.hardlink)
            buffer.appendString(existingPath.bytes)
            buffer.appendString(newPath.bytes)
        case .fsync(let handle):
            buffer.appendString(SFTPExtensionName.fsync)
            buffer.appendHandle(handle)
        case .limits:
            buffer.appendString(SFTPExtensionName.limits)
        case .lsetstat(let path, let attributes):
            buffer.appendString(SFTPExtensionName.lsetstat)
            buffer.appendString(path.bytes)
            attributes.encode(into: buffer)
        case .expandPath(let path):
            buffer.appendString(SFTPExtensionName.expandPath)
            buffer.appendString(path.bytes)
        case .unsupportedExtension(let name):
            buffer.appendString(name)
        case .unsupported:
            break
        }
    }
}

extension SFTPByteBuffer {
    public func appendHandle(_ handle: SFTPHandle) {
        appendUInt32(4)
        appendUInt32(handle.rawValue)
    }
}
