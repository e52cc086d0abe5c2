import Glibc
import SystemPackage

/// Answers decoded requests against the file system and keeps the session's handle
/// table. It sees packets and a reply buffer, never the session's descriptors, so
/// tests drive it directly.
public struct SFTPRequestHandler {
    public enum Outcome: Equatable, Sendable {
        case continueSession
        /// The client broke the protocol in a way we cannot answer; the message says how.
        case endSession(reason: String)
    }

    /// What the server tells the client in VERSION. Data strings are OpenSSH's
    /// extension versions (statvfs is at version 2).
    public static let advertisedExtensions: [(name: String, data: String)] = [
        (SFTPExtensionName.posixRename, "1"),
        (SFTPExtensionName.statvfs, "2"),
        (SFTPExtensionName.fstatvfs, "2"),
        (SFTPExtensionName.hardlink, "1"),
        (SFTPExtensionName.fsync, "1"),
        (SFTPExtensionName.lsetstat, "1"),
        (SFTPExtensionName.limits, "1"),
        (SFTPExtensionName.expandPath, "1"),
    ]

    private var handles = SFTPHandleTable()
    private let fileSystem = SFTPFileSystem()
    private let resolver = SFTPPathResolver()
    /// Set by INIT; until then only INIT is accepted.
    public private(set) var clientVersion: UInt32?

    public init() {}

    public var openHandleCount: Int { handles.count }

    /// Handles one packet body (type byte first) and appends its reply to `output`.
    public mutating func handle(packet body: UnsafeRawBufferPointer, replyingInto output: SFTPByteBuffer) -> Outcome {
        let message: SFTPClientMessage
        do {
            message = try SFTPClientMessage.decode(body)
        } catch {
            // A malformed request whose id we read still gets an answer; without an id
            // there is nothing to answer, and the client is not speaking SFTP.
            guard clientVersion != nil, let id = error.requestID else {
                return .endSession(reason: error.message)
            }
            output.appendStatusReply(id: id, code: .badMessage, message: error.message)
            return .continueSession
        }

        switch message {
        case .initialize(let version):
            guard clientVersion == nil else { return .endSession(reason: "INIT sent twice") }
            clientVersion = version
            output.appendVersionReply(version: SFTPLimits.protocolVersion, extensions: Self.advertisedExtensions)
        case .request(let request):
            guard clientVersion != nil else {
                return .endSession(reason: "request sent before INIT")
            }
            do {
                try perform(request.operation, id: request.id, output: output)
            } catch {
                output.appendStatusReply(id: request.id, code: error.code, message: error.message)
            }
        }
        return .continueSession
    }

    /// Closes every open file and directory, e.g. when the session ends.
    public mutating func closeAllHandles() {
        for object in handles.removeAll() {
            close(object)
        }
    }

    // MARK: Dispatch

    private mutating func perform(_ operation: SFTPOperation, id: UInt32, output: SFTPByteBuffer)
        throws(SFTPStatusError)
    {
        switch operation {
        case .read(let handle, let offset, let length):
            try read(handle, offset: offset, length: length, id: id, output: output)
        case .write(let handle, let offset, let data):
            let descriptor = try file(handle)
            try mapErrno { () throws(Errno) in try fileSystem.write(descriptor, at: offset, from: data) }
            output.appendOK(id: id)
        case .open(let path, let flags, let attributes):
            try open(path, flags: flags, attributes: attributes, id: id, output: output)
        case .close(let handle):
            guard let object = handles.remove(handle) else { throw .invalidHandle }
            try mapErrno { () throws(Errno) in try closeOrThrow(object) }
            output.appendOK(id: id)
        case .lstat(let path):
            let status = try mapErrno { () throws(Errno) in try fileSystem.status(of: path, followingSymlinks: false) }
            output.appendAttributesReply(id: id, attributes: status.attributes)
        case .stat(let path):
            let status = try mapErrno { () throws(Errno) in try fileSystem.status(of: path, followingSymlinks: true) }
            output.appendAttributesReply(id: id, attributes: status.attributes)
        case .fstat(let handle):
            let descriptor = try file(handle)
            let status = try mapErrno { () throws(Errno) in try fileSystem.status(of: descriptor) }
            output.appendAttributesReply(id: id, attributes: status.attributes)
        case .setstat(let path, let attributes):
            try mapErrno { () throws(Errno) in
                try fileSystem.setAttributes(attributes, of: path, followingSymlinks: true)
            }
            output.appendOK(id: id)
        case .lsetstat(let path, let attributes):
            guard attributes.size == nil else {
                throw SFTPStatusError(.badMessage, "lsetstat cannot set a size")
            }
            try mapErrno { () throws(Errno) in
                try fileSystem.setAttributes(attributes, of: path, followingSymlinks: false)
            }
            output.appendOK(id: id)
        case .fsetstat(let handle, let attributes):
            let descriptor = try file(handle)
            try mapErrno { () throws(Errno) in try fileSystem.setAttributes(attributes, of: descriptor) }
            output.appendOK(id: id)
        case .opendir(let path):
            guard !handles.isFull else { throw SFTPStatusError.tooManyHandles }
            let directory = try mapErrno { () throws(Errno) in try fileSystem.openDirectory(path) }
            output.appendHandleReply(id: id, handle: handles.insert(.directory(directory, path: path)))
        case .readdir(let handle):
            try readDirectory(handle, id: id, output: output)
        case .remove(let path):
            try mapErrno { () throws(Errno) in try fileSystem.removeFile(path) }
            output.appendOK(id: id)
        case .mkdir(let path, let attributes):
            try mapErrno { () throws(Errno) in
                try fileSystem.makeDirectory(path, permissions: attributes.permissions ?? 0o777)
            }
            output.appendOK(id: id)
        case .rmdir(let path):
            try mapErrno { () throws(Errno) in try fileSystem.removeDirectory(path) }
            output.appendOK(id: id)
        case .realpath(let path):
            let resolved = try mapErrno { () throws(Errno) in try resolver.canonicalPath(path) }
            output.appendSinglePathName(id: id, resolved.bytes)
        case .expandPath(let path):
            output.appendSinglePathName(id: id, try resolver.expandedPath(path).bytes)
        case .rename(let oldPath, let newPath):
            try mapErrno { () throws(Errno) in try fileSystem.renameWithoutReplacing(oldPath, to: newPath) }
            output.appendOK(id: id)
        case .posixRename(let oldPath, let newPath):
            try mapErrno { () throws(Errno) in try fileSystem.rename(oldPath, to: newPath) }
            output.appendOK(id: id)
        case .readlink(let path):
            let target = try mapErrno { () throws(Errno) in try fileSystem.readLink(path) }
            output.appendSinglePathName(id: id, target)
        case .symlink(let targetPath, let linkPath):
            try mapErrno { () throws(Errno) in try fileSystem.makeSymbolicLink(to: targetPath, at: linkPath) }
            output.appendOK(id: id)
        case .hardlink(let existingPath, let newPath):
            try mapErrno { () throws(Errno) in try fileSystem.makeHardLink(existing: existingPath, newPath: newPath) }
            output.appendOK(id: id)
        case .statvfs(let path):
            let status = try mapErrno { () throws(Errno) in try fileSystem.fileSystemStatus(of: path) }
            output.appendExtendedReply(id: id, uint64Fields: status.wireFields)
        case .fstatvfs(let handle):
            let descriptor = try file(handle)
            let status = try mapErrno { () throws(Errno) in try fileSystem.fileSystemStatus(of: descriptor) }
            output.appendExtendedReply(id: id, uint64Fields: status.wireFields)
        case .fsync(let handle):
            let descriptor = try file(handle)
            try mapErrno { () throws(Errno) in try fileSystem.synchronize(descriptor) }
            output.appendOK(id: id)
        case .limits:
            output.appendExtendedReply(
                id: id,
                uint64Fields: [
                    UInt64(SFTPLimits.advertisedPacketLength),
                    UInt64(SFTPLimits.advertisedReadWriteLength),
                    UInt64(SFTPLimits.advertisedReadWriteLength),
                    UInt64(handles.capacity),
                ])
        case .unsupported(let type):
            throw SFTPStatusError(.operationUnsupported, "Unsupported request type \(type)")
        case .unsupportedExtension(let name):
            throw SFTPStatusError(
                .operationUnsupported, "Unsupported extension \(String(decoding: name, as: UTF8.self))")
        }
    }

    // MARK: Requests with more to them

    private mutating func open(
        _ path: SFTPPath, flags: SFTPOpenFlags, attributes: SFTPAttributes, id: UInt32, output: SFTPByteBuffer
    ) throws(SFTPStatusError) {
        guard !handles.isFull else { throw SFTPStatusError.tooManyHandles }
        let descriptor = try mapErrno { () throws(Errno) in
            try fileSystem.open(
                path, flags: Self.systemOpenFlags(flags), permissions: attributes.permissions ?? 0o666)
        }
        output.appendHandleReply(id: id, handle: handles.insert(.file(descriptor, path: path)))
    }

    static func systemOpenFlags(_ flags: SFTPOpenFlags) -> Int32 {
        var result: Int32 =
            switch (flags.contains(.read), flags.contains(.write)) {
            case (true, true): O_RDWR
            case (false, true): O_WRONLY
            default: O_RDONLY
            }
        if flags.contains(.append) { result |= O_APPEND }
        if flags.contains(.create) { result |= O_CREAT }
        if flags.contains(.truncate) { result |= O_TRUNC }
        if flags.contains(.exclusive) { result |= O_EXCL }
        return result
    }

    /// Reads straight into the reply: the DATA header is written first, then `pread`
    /// fills the space after it.
    private func read(_ handle: SFTPHandle, offset: UInt64, length: UInt32, id: UInt32, output: SFTPByteBuffer)
        throws(SFTPStatusError)
    {
        let descriptor = try file(handle)
        let wanted = min(Int(length), SFTPLimits.maximumReadLength)
        let delivered = try mapErrno { () throws(Errno) in
            try output.appendDataReply(id: id, maximumLength: wanted) { (space) throws(Errno) in
                try fileSystem.read(descriptor, at: offset, into: space)
            }
        }
        if delivered == 0 {
            throw SFTPStatusError(.endOfFile, "End of file")
        }
    }

    /// One NAME reply of up to `directoryEntriesPerReply` entries, or EOF when done.
    /// Entries that vanish between readdir and lstat are skipped, as OpenSSH does.
    private func readDirectory(_ handle: SFTPHandle, id: UInt32, output: SFTPByteBuffer) throws(SFTPStatusError) {
        guard case .directory(let directory, _) = handles[handle] else { throw .invalidHandle }
        let now = Int(time(nil))
        var entries: [SFTPNameEntry] = []
        while entries.count < SFTPLimits.directoryEntriesPerReply {
            let name: [UInt8]?
            do {
                name = try fileSystem.nextEntry(in: directory)
            } catch {
                if entries.isEmpty { throw SFTPStatusError(error) }
                break  // send what we have; the error will come back on the next READDIR
            }
            guard let name else { break }
            guard let status = try? fileSystem.status(ofEntry: name, in: directory) else { continue }
            entries.append(
                SFTPNameEntry(
                    filename: name,
                    longname: SFTPLongName.format(name: name, status: status, now: now),
                    attributes: status.attributes))
        }
        guard !entries.isEmpty else { throw SFTPStatusError(.endOfFile, "End of directory") }
        output.appendNameReply(id: id, entries: entries)
    }

    // MARK: Helpers

    private func file(_ handle: SFTPHandle) throws(SFTPStatusError) -> FileDescriptor {
        guard case .file(let descriptor, _) = handles[handle] else { throw .invalidHandle }
        return descriptor
    }

    private func closeOrThrow(_ object: SFTPOpenObject) throws(Errno) {
        switch object {
        case .file(let descriptor, _): try fileSystem.close(descriptor)
        case .directory(let directory, _): try fileSystem.closeDirectory(directory)
        }
    }

    private func close(_ object: SFTPOpenObject) {
        try? closeOrThrow(object)
    }

    private func mapErrno<Result>(_ body: () throws(Errno) -> Result) throws(SFTPStatusError) -> Result {
        do throws(Errno) {
            return try body()
        } catch {
            throw SFTPStatusError(error)
        }
    }
}

extension SFTPStatusError {
    static let tooManyHandles = SFTPStatusError(.failure, "Too many open files and directories in this session")
}

extension SFTPByteBuffer {
    fileprivate func appendOK(id: UInt32) {
        appendStatusReply(id: id, code: .ok, message: "Success")
    }

    /// The NAME reply of REALPATH, READLINK and expand-path: one entry whose filename
    /// and longname are both the path, with no attributes (as OpenSSH sends).
    fileprivate func appendSinglePathName(id: UInt32, _ path: [UInt8]) {
        appendNameReply(id: id, entries: [SFTPNameEntry(filename: path, longname: path, attributes: .empty)])
    }
}
