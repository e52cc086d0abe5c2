import Glibc
import SystemPackage

/// An open directory being listed. Must be closed with `SFTPFileSystem.closeDirectory`.
struct SFTPDirectoryStream {
    fileprivate let pointer: OpaquePointer
}

/// The POSIX calls behind each SFTP request, with failures as typed `Errno`s.
/// Paths are used as given: relative ones resolve against the process's current
/// directory, which is the agent's working directory.
struct SFTPFileSystem {
    // MARK: Files

    func open(_ path: SFTPPath, flags: Int32, permissions: UInt32) throws(Errno) -> FileDescriptor {
        // Not inherited by anything the process might start.
        let descriptor = try retryingOnInterrupt {
            path.withCString { Glibc.open($0, flags | O_CLOEXEC, mode_t(permissions)) }
        }
        return FileDescriptor(rawValue: descriptor)
    }

    func close(_ descriptor: FileDescriptor) throws(Errno) {
        // No retry on EINTR: on Linux the descriptor is gone either way.
        guard Glibc.close(descriptor.rawValue) == 0 else { throw lastErrno() }
    }

    /// One `pread`; fewer bytes than asked (0 at end of file) is not an error.
    func read(_ descriptor: FileDescriptor, at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer)
        throws(Errno) -> Int
    {
        let position = try fileOffset(offset)
        return try retryingOnInterrupt {
            pread(descriptor.rawValue, buffer.baseAddress, buffer.count, position)
        }
    }

    /// `pwrite` until every byte is written: a short write is not an answer we can send.
    func write(_ descriptor: FileDescriptor, at offset: UInt64, from data: UnsafeRawBufferPointer) throws(Errno) {
        var position = try fileOffset(offset)
        var remaining = data
        while !remaining.isEmpty {
            let written = try retryingOnInterrupt {
                pwrite(descriptor.rawValue, remaining.baseAddress, remaining.count, position)
            }
            guard written > 0 else { throw Errno.noSpace }
            remaining = UnsafeRawBufferPointer(rebasing: remaining[written...])
            position += off_t(written)
        }
    }

    func synchronize(_ descriptor: FileDescriptor) throws(Errno) {
        _ = try retryingOnInterrupt { fsync(descriptor.rawValue) }
    }

    // MARK: Status and attributes

    func status(of path: SFTPPath, followingSymlinks: Bool) throws(Errno) -> SFTPFileStatus {
        var result = stat()
        _ = try check(path.withCString { followingSymlinks ? stat($0, &result) : lstat($0, &result) })
        return SFTPFileStatus(result)
    }

    func status(of descriptor: FileDescriptor) throws(Errno) -> SFTPFileStatus {
        var result = stat()
        _ = try check(fstat(descriptor.rawValue, &result))
        return SFTPFileStatus(result)
    }

    /// `lstat` of an entry of an open directory, without building its path.
    func status(ofEntry name: [UInt8], in directory: SFTPDirectoryStream) throws(Errno) -> SFTPFileStatus {
        var result = stat()
        let code = SFTPPath(bytes: name).withCString {
            fstatat(dirfd(directory.pointer), $0, &result, AT_SYMLINK_NOFOLLOW)
        }
        _ = try check(code)
        return SFTPFileStatus(result)
    }

    /// Applies size, then permissions, then times, then owner (OpenSSH's order), and
    /// stops at the first failure.
    func setAttributes(_ attributes: SFTPAttributes, of path: SFTPPath, followingSymlinks: Bool) throws(Errno) {
        let noFollow = followingSymlinks ? 0 : AT_SYMLINK_NOFOLLOW
        if let size = attributes.size {
            let length = try fileOffset(size)
            _ = try retryingOnInterrupt { path.withCString { truncate($0, length) } }
        }
        if let permissions = attributes.permissions {
            _ = try check(path.withCString { fchmodat(AT_FDCWD, $0, Self.permissionBits(permissions), noFollow) })
        }
        if let times = attributes.times {
            var pair = Self.timespecs(times)
            _ = try check(path.withCString { utimensat(AT_FDCWD, $0, &pair.0, noFollow) })
        }
        if let owner = attributes.ownerIDs {
            _ = try check(path.withCString { fchownat(AT_FDCWD, $0, owner.userID, owner.groupID, noFollow) })
        }
    }

    func setAttributes(_ attributes: SFTPAttributes, of descriptor: FileDescriptor) throws(Errno) {
        let fd = descriptor.rawValue
        if let size = attributes.size {
            let length = try fileOffset(size)
            _ = try retryingOnInterrupt { ftruncate(fd, length) }
        }
        if let permissions = attributes.permissions {
            _ = try check(fchmod(fd, Self.permissionBits(permissions)))
        }
        if let times = attributes.times {
            var pair = Self.timespecs(times)
            _ = try check(futimens(fd, &pair.0))
        }
        if let owner = attributes.ownerIDs {
            _ = try check(fchown(fd, owner.userID, owner.groupID))
        }
    }

    func fileSystemStatus(of path: SFTPPath) throws(Errno) -> SFTPFileSystemStatus {
        var result = statvfs()
        _ = try check(path.withCString { statvfs($0, &result) })
        return SFTPFileSystemStatus(result)
    }

    func fileSystemStatus(of descriptor: FileDescriptor) throws(Errno) -> SFTPFileSystemStatus {
        var result = statvfs()
        _ = try check(fstatvfs(descriptor.rawValue, &result))
        return SFTPFileSystemStatus(result)
    }

    // MARK: Directories

    func openDirectory(_ path: SFTPPath) throws(Errno) -> SFTPDirectoryStream {
        guard let pointer = path.withCString({ opendir($0) }) else { throw lastErrno() }
        return SFTPDirectoryStream(pointer: pointer)
    }

    /// The next entry's name, or nil at the end.
    func nextEntry(in directory: SFTPDirectoryStream) throws(Errno) -> [UInt8]? {
        // readdir returns nil both at the end and on error; only errno tells them apart.
        errno = 0
        guard let entry = readdir(directory.pointer) else {
            if errno != 0 { throw lastErrno() }
            return nil
        }
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        let name = (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self)
        return Array(UnsafeRawBufferPointer(start: name, count: strlen(name)))
    }

    func closeDirectory(_ directory: SFTPDirectoryStream) throws(Errno) {
        guard closedir(directory.pointer) == 0 else { throw lastErrno() }
    }

    func makeDirectory(_ path: SFTPPath, permissions: UInt32) throws(Errno) {
        _ = try check(path.withCString { mkdir($0, Self.permissionBits(permissions)) })
    }

    func removeDirectory(_ path: SFTPPath) throws(Errno) {
        _ = try check(path.withCString { rmdir($0) })
    }

    func currentDirectory() throws(Errno) -> SFTPPath {
        var capacity = Int(PATH_MAX)
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            let found = buffer.withUnsafeMutableBufferPointer { space in
                space.withMemoryRebound(to: CChar.self) { getcwd($0.baseAddress, $0.count) != nil }
            }
            if found {
                return SFTPPath(bytes: Array(buffer.prefix { $0 != 0 }))
            }
            let failure = lastErrno()
            guard failure == .outOfRange, capacity < 1 << 20 else { throw failure }
            capacity *= 4
        }
    }

    /// `$HOME`, for `~` in expand-path. Read from the environment because a static
    /// binary cannot ask NSS.
    func homeDirectory() -> SFTPPath? {
        guard let home = getenv("HOME"), home[0] != 0 else { return nil }
        return SFTPPath(bytes: Array(UnsafeRawBufferPointer(start: home, count: strlen(home))))
    }

    // MARK: Names and links

    func removeFile(_ path: SFTPPath) throws(Errno) {
        _ = try check(path.withCString { unlink($0) })
    }

    /// rename(2): replaces `newPath` if it exists.
    func rename(_ oldPath: SFTPPath, to newPath: SFTPPath) throws(Errno) {
        _ = try check(oldPath.withCString { old in newPath.withCString { new in Glibc.rename(old, new) } })
    }

    /// SFTP v3 rename: `newPath` must not exist. Swift cannot reach renameat2's
    /// RENAME_NOREPLACE, so, like OpenSSH, a regular file is linked under the new
    /// name (which fails atomically if it exists) and then unlinked under the old.
    /// Where links are impossible (other file types, some file systems), check then
    /// rename: racy, but the best POSIX allows.
    func renameWithoutReplacing(_ oldPath: SFTPPath, to newPath: SFTPPath) throws(Errno) {
        let source = try status(of: oldPath, followingSymlinks: false)
        if source.isRegularFile {
            do throws(Errno) {
                try makeHardLink(existing: oldPath, newPath: newPath)
            } catch let failure where Self.linkUnavailableErrors.contains(failure) {
                try checkThenRename(oldPath, to: newPath)
                return
            }
            do throws(Errno) {
                try removeFile(oldPath)
            } catch {
                // Leave the file where it was rather than under two names.
                try? removeFile(newPath)
                throw error
            }
            return
        }
        try checkThenRename(oldPath, to: newPath)
    }

    private static let linkUnavailableErrors: [Errno] = [.notSupported, .noFunction, .improperLink, .notPermitted]

    private func checkThenRename(_ oldPath: SFTPPath, to newPath: SFTPPath) throws(Errno) {
        do throws(Errno) {
            _ = try status(of: newPath, followingSymlinks: false)
            throw Errno.fileExists
        } catch let failure where failure == .noSuchFileOrDirectory {
            try rename(oldPath, to: newPath)
        }
    }

    func readLink(_ path: SFTPPath) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = buffer.withUnsafeMutableBytes { space in
            path.withCString { readlink($0, space.baseAddress!.assumingMemoryBound(to: CChar.self), space.count) }
        }
        guard length >= 0 else { throw lastErrno() }
        return Array(buffer[..<length])
    }

    func makeSymbolicLink(to targetPath: SFTPPath, at linkPath: SFTPPath) throws(Errno) {
        _ = try check(targetPath.withCString { target in linkPath.withCString { symlink(target, $0) } })
    }

    func makeHardLink(existing existingPath: SFTPPath, newPath: SFTPPath) throws(Errno) {
        _ = try check(existingPath.withCString { old in newPath.withCString { link(old, $0) } })
    }

    // MARK: Helpers

    private static func permissionBits(_ mode: UInt32) -> mode_t {
        mode_t(mode & 0o7777)
    }

    private static func timespecs(_ times: SFTPAttributes.Times) -> (timespec, timespec) {
        (
            timespec(tv_sec: Int(times.accessTime), tv_nsec: 0),
            timespec(tv_sec: Int(times.modificationTime), tv_nsec: 0)
        )
    }

    private func fileOffset(_ value: UInt64) throws(Errno) -> off_t {
        guard let offset = off_t(exactly: value) else { throw Errno.invalidArgument }
        return offset
    }
}

private func lastErrno() -> Errno {
    Errno(rawValue: errno)
}

/// Turns a C result of -1 into the errno it set.
private func check(_ result: Int32) throws(Errno) -> Int32 {
    guard result != -1 else { throw lastErrno() }
    return result
}

private func retryingOnInterrupt<Result: FixedWidthInteger>(_ call: () -> Result) throws(Errno) -> Result {
    while true {
        let result = call()
        if result != -1 { return result }
        let failure = lastErrno()
        if failure != .interrupted { throw failure }
    }
}
