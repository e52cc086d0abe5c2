import ConvergeSFTP
import FuzzSupport
import Glibc

/// The agent's SFTP server, fed a client's byte stream.
///
/// Input: mode, 4 split sizes, then the client's bytes, delivered in those pieces.
/// - mode even: framing and decoding only: `SFTPInputBuffer` (a small one, so unread
///   bytes move to the front often) must cut the same packets as a plain scan of the
///   whole stream, and every packet is decoded.
/// - mode odd: the request handler too, in a scratch directory. INIT is sent first; a
///   request that names a path that could leave the directory (absolute, `..`, `~`) is
///   skipped, so the fuzzer only ever touches files it made itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSFTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let handle = input.bool()
    var splits = Splits(from: &input)
    let bytes = input.rest()
    let packets = packetsReadInPieces(splits.chunks(of: bytes))
    require(packets == packetsScanned(bytes), "buffered reads cut different packets than a scan")
    if handle {
        Scratch.shared.run { serve(packets) }
    } else {
        for packet in packets { packet.withUnsafeBytes { _ = try? SFTPClientMessage.decode($0) } }
    }
    return 0
}

/// Small limits: packets over 1 KiB end the session, the buffer holds two.
private let maximumBody = 1024

private func packetsReadInPieces(_ chunks: [ArraySlice<UInt8>]) -> [[UInt8]] {
    let buffer = SFTPInputBuffer(capacity: 2 * (maximumBody + 4), maximumBodyLength: maximumBody)
    var pending = chunks[...]
    var packets: [[UInt8]] = []
    while true {
        do {
            while let packet = try buffer.nextPacket() { packets.append(Array(packet)) }
        } catch {
            return packets
        }
        let received = buffer.fill { space in
            guard var chunk = pending.popFirst() else { return 0 }
            let n = min(chunk.count, space.count)
            chunk.withUnsafeBytes { space.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            chunk = chunk.dropFirst(n)
            if !chunk.isEmpty { pending.insert(chunk, at: pending.startIndex) }
            return n
        }
        if received == 0 { return packets }
    }
}

private func packetsScanned(_ bytes: [UInt8]) -> [[UInt8]] {
    var packets: [[UInt8]] = []
    var offset = 0
    while true {
        let scan = bytes.withUnsafeBytes { raw in
            try? SFTPFraming.scan(UnsafeRawBufferPointer(rebasing: raw[offset...]), maximumBodyLength: maximumBody)
        }
        guard case .complete(let length)? = scan else { return packets }
        packets.append(Array(bytes[(offset + 4)..<(offset + 4 + length)]))
        offset += 4 + length
    }
}

/// One reply buffer for every input, as a session keeps one for all its requests (a READ
/// of 255 KiB makes it that large once, not once per input).
nonisolated(unsafe) private let replies = SFTPByteBuffer()

/// Serves the packets; true if any request could have made a directory entry (emptying the
/// scratch directory is most of a run's cost, so it is skipped when nothing was made).
private func serve(_ packets: [[UInt8]]) -> Bool {
    var madeEntries = false
    var handler = SFTPRequestHandler()
    defer { handler.closeAllHandles() }
    replies.removeAll()
    let initialize: [UInt8] = [SFTPMessageType.initialize, 0, 0, 0, 3]
    for packet in [initialize] + packets {
        let outcome = packet.withUnsafeBytes { body -> SFTPRequestHandler.Outcome? in
            guard let message = try? SFTPClientMessage.decode(body) else {
                return handler.handle(packet: body, replyingInto: replies)  // malformed: answered or ends
            }
            guard staysInside(message) else { return nil }
            if makesEntries(message) { madeEntries = true }
            return handler.handle(packet: body, replyingInto: replies)
        }
        requireWholeReplies(replies)
        replies.removeAll()
        if case .endSession? = outcome { return madeEntries }
    }
    return madeEntries
}

/// Requests that can add a name to a directory (the others only read, change or remove
/// what such a request made).
private func makesEntries(_ message: SFTPClientMessage) -> Bool {
    guard case .request(let request) = message else { return false }
    switch request.operation {
    case .open, .mkdir, .symlink, .hardlink, .rename, .posixRename: return true
    default: return false
    }
}

/// Every reply is one whole packet: what the client reads must frame.
private func requireWholeReplies(_ replies: SFTPByteBuffer) {
    var rest = replies.readableBytes
    while !rest.isEmpty {
        guard case .complete(let length)? = try? SFTPFraming.scan(rest, maximumBodyLength: .max) else {
            return require(false, "a reply is not a whole packet")
        }
        rest = UnsafeRawBufferPointer(rebasing: rest[(4 + length)...])
    }
}

/// True when every path in the request stays in the current directory.
private func staysInside(_ message: SFTPClientMessage) -> Bool {
    guard case .request(let request) = message else { return true }
    let paths: [SFTPPath]
    switch request.operation {
    case .open(let path, _, _), .lstat(let path), .setstat(let path, _), .opendir(let path), .remove(let path),
         .mkdir(let path, _), .rmdir(let path), .realpath(let path), .stat(let path), .readlink(let path),
         .statvfs(let path), .lsetstat(let path, _), .expandPath(let path):
        paths = [path]
    case .rename(let a, let b), .symlink(let a, let b), .posixRename(let a, let b), .hardlink(let a, let b):
        paths = [a, b]
    case .close, .read, .write, .fstat, .fsetstat, .readdir, .fstatvfs, .fsync, .limits, .unsupported, .unsupportedExtension:
        paths = []
    }
    return paths.allSatisfy { path in
        !path.isAbsolute && path.bytes.first != UInt8(ascii: "~")
            && !path.bytes.split(separator: UInt8(ascii: "/")).contains([UInt8(ascii: "."), UInt8(ascii: ".")])
    }
}

/// A directory of our own that the handler works in, emptied after every input. The
/// process goes back to its own directory in between (libFuzzer writes files by path).
private final class Scratch: Sendable {
    static let shared = Scratch()
    let path: String
    let directory: Int32
    nonisolated(unsafe) private var runs = 0

    init() {
        var template = Array("\(temporaryDirectory())/converge-fuzz-sftp.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("mkdtemp: \(String(cString: strerror(errno)))") }
        path = String(cString: made)
        directory = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        atexit {
            Scratch.shared.empty()
            rmdir(Scratch.shared.path)
        }
    }

    /// Runs `body` inside the directory; empties it afterwards when `body` says it may hold something.
    func run(_ body: () -> Bool) {
        let home = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard home >= 0, fchdir(directory) == 0 else { fatalError("cannot enter \(path)") }
        let used = body()
        require(fchdir(home) == 0, "cannot go back to the working directory")
        close(home)
        fchmod(directory, 0o700)  // SETSTAT "." may have changed it
        if used { empty() }
        // Now and then, make sure nothing was left: inputs must not see each other's files.
        runs += 1
        if runs % 1024 == 0 { require(names(in: directory).isEmpty, "the scratch directory was not emptied") }
    }

    func empty() {
        fchmod(directory, 0o700)  // SETSTAT "." may have changed it
        removeContents(of: dup(directory))
    }
}

/// Removes everything inside the directory `fd` (and closes it). Directories get their
/// modes back first: the fuzzer may have made them unreadable.
private func removeContents(of fd: Int32) {
    for name in names(in: fd) where unlinkat(fd, name, 0) != 0 {
        fchmodat(fd, name, 0o700, 0)
        removeContents(of: openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
        unlinkat(fd, name, AT_REMOVEDIR)
    }
    close(fd)
}

/// The names in the directory `fd`, without "." and "..". Names stay bytes: most of the
/// fuzzer's are not UTF-8, and a `String` would repair them into names that do not exist.
private func names(in fd: Int32) -> [[CChar]] {
    guard fd >= 0, let dir = fdopendir(dup(fd)) else { return [] }
    defer { closedir(dir) }
    rewinddir(dir)
    var names: [[CChar]] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            Array(raw.bindMemory(to: CChar.self).prefix { $0 != 0 }) + [0]
        }
        if name != [46, 0] && name != [46, 46, 0] { names.append(name) }  // "." and ".."
    }
    return names
}

private func temporaryDirectory() -> String {
    guard let value = getenv("TMPDIR"), value.pointee != 0 else { return "/tmp" }
    return String(cString: value)
}
