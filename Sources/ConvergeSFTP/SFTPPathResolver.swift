import SystemPackage

/// Canonical absolute paths for REALPATH and expand-path: symlinks resolved, `.` and
/// `..` removed. As in OpenSSH, the last component need not exist (so a client can
/// ask where an upload will land), but every earlier one must.
struct SFTPPathResolver {
    var fileSystem = SFTPFileSystem()

    /// Linux's limit on symlinks followed in one lookup.
    static let maximumSymlinkExpansions = 40

    func canonicalPath(_ path: SFTPPath) throws(Errno) -> SFTPPath {
        // An empty path means the current directory, as OpenSSH treats it.
        let start = path.bytes.isEmpty ? SFTPPath(".") : path
        var resolved: [[UInt8]] = start.isAbsolute ? [] : Self.components(of: try fileSystem.currentDirectory())
        // Components still to walk, the next one last, so symlink targets can be pushed.
        var pending = Array(Self.components(of: start).reversed())
        var expansions = 0

        while let component = pending.popLast() {
            if component == [UInt8(ascii: ".")] { continue }
            if component == [UInt8(ascii: "."), UInt8(ascii: ".")] {
                _ = resolved.popLast()  // ".." of "/" is "/"
                continue
            }
            resolved.append(component)
            let current = Self.path(from: resolved)
            let status: SFTPFileStatus
            do throws(Errno) {
                status = try fileSystem.status(of: current, followingSymlinks: false)
            } catch where error == .noSuchFileOrDirectory && pending.isEmpty {
                return current
            }
            if status.isSymbolicLink {
                expansions += 1
                guard expansions <= Self.maximumSymlinkExpansions else { throw Errno.tooManySymbolicLinkLevels }
                let target = SFTPPath(bytes: try fileSystem.readLink(current))
                resolved.removeLast()
                if target.isAbsolute { resolved.removeAll() }
                pending.append(contentsOf: Self.components(of: target).reversed())
            } else if !status.isDirectory && !pending.isEmpty {
                throw Errno.notDirectory
            }
        }
        return Self.path(from: resolved)
    }

    /// `~` and `~/rest` become `$HOME` and `$HOME/rest`; then canonicalised.
    /// `~user` needs the password database, which a static agent cannot read.
    func expandedPath(_ path: SFTPPath) throws(SFTPStatusError) -> SFTPPath {
        var expanded = path
        let tilde = UInt8(ascii: "~")
        let slash = UInt8(ascii: "/")
        if path.bytes.first == tilde {
            guard path.bytes.count == 1 || path.bytes[1] == slash else {
                throw SFTPStatusError(.failure, "~user is not supported: no user database")
            }
            guard let home = fileSystem.homeDirectory() else {
                throw SFTPStatusError(.failure, "HOME is not set")
            }
            expanded = home
            let rest = path.bytes.dropFirst(2)
            if !rest.isEmpty { expanded = home.appending(Array(rest)) }
        }
        do {
            return try canonicalPath(expanded)
        } catch {
            throw SFTPStatusError(error)
        }
    }

    private static func components(of path: SFTPPath) -> [[UInt8]] {
        path.bytes.split(separator: UInt8(ascii: "/")).map(Array.init)
    }

    private static func path(from components: [[UInt8]]) -> SFTPPath {
        guard !components.isEmpty else { return SFTPPath("/") }
        var bytes: [UInt8] = []
        for component in components {
            bytes.append(UInt8(ascii: "/"))
            bytes.append(contentsOf: component)
        }
        return SFTPPath(bytes: bytes)
    }
}
