import Glibc
import Testing
@testable import ConvergeSFTP

/// The handler against a real temporary directory: every test gets its own.
@Suite final class SFTPRequestHandlerTests {
    let directory = TemporaryDirectory()
    var session = HandlerSession()

    func file(_ name: String) -> SFTPPath { SFTPPath(directory.file(name)) }

    // MARK: Session start

    @Test func versionAdvertisesTheOpenSSHExtensions() throws {
        var handler = SFTPRequestHandler()
        let output = SFTPByteBuffer()
        let outcome = encodedBody(.initialize(version: 3)).withUnsafeBytes { handler.handle(packet: $0, replyingInto: output) }
        #expect(outcome == .continueSession)
        guard case .version(let version, let extensions) = try decodeReplies(output.bytes).first else {
            Issue.record("no VERSION")
            return
        }
        #expect(version == 3)
        for name in ["posix-rename@openssh.com", "statvfs@openssh.com", "fstatvfs@openssh.com",
                     "hardlink@openssh.com", "fsync@openssh.com", "limits@openssh.com"] {
            #expect(extensions[name] != nil, "missing \(name)")
        }
        #expect(extensions["statvfs@openssh.com"] == "2")
    }

    @Test func requestsBeforeInitAndASecondInitEndTheSession() {
        var handler = SFTPRequestHandler()
        let output = SFTPByteBuffer()
        let stat = encodedBody(.request(SFTPRequest(id: 1, operation: .stat(path: path("/")))))
        guard case .endSession(let reason) = stat.withUnsafeBytes({ handler.handle(packet: $0, replyingInto: output) }) else {
            Issue.record("request before INIT accepted")
            return
        }
        #expect(reason.contains("INIT"))
        #expect(output.count == 0)

        let initialize = encodedBody(.initialize(version: 3))
        #expect(initialize.withUnsafeBytes { handler.handle(packet: $0, replyingInto: output) } == .continueSession)
        #expect(initialize.withUnsafeBytes { handler.handle(packet: $0, replyingInto: output) } != .continueSession)
    }

    // MARK: Files

    @Test func openWriteReadClose() throws {
        let handle = try session.open(directory.file("f"), [.write, .create, .truncate], permissions: 0o640)
        let text = Array("hello, world".utf8)
        let written = try text.withUnsafeBytes { data in
            try session.send(.write(handle: handle, offset: 0, data: data))
        }
        #expect(written.statusCode == .ok)
        let appended = try Array("!!".utf8).withUnsafeBytes { try session.send(.write(handle: handle, offset: 12, data: $0)) }
        #expect(appended.statusCode == .ok)
        #expect(try session.send(.close(handle: handle)).statusCode == .ok)
        #expect(directory.read("f") == "hello, world!!")
        #expect(directory.mode("f") & 0o777 == 0o640 & ~currentUmask())

        let reader = try session.open(directory.file("f"), [.read])
        #expect(try session.send(.read(handle: reader, offset: 7, length: 5)) == .data(id: 6, Array("world".utf8)))
        // A read past the end is short, then EOF.
        #expect(try session.send(.read(handle: reader, offset: 12, length: 100)) == .data(id: 7, Array("!!".utf8)))
        #expect(try session.send(.read(handle: reader, offset: 14, length: 100)).statusCode == .endOfFile)
        guard case .attributes(_, let attributes) = try session.send(.fstat(handle: reader)) else {
            Issue.record("no attributes")
            return
        }
        #expect(attributes.size == 14)
        #expect(attributes.permissions.map { $0 & 0o170000 } == 0o100000)
        #expect(try session.send(.close(handle: reader)).statusCode == .ok)
        // The handle is gone after CLOSE.
        #expect(try session.send(.read(handle: reader, offset: 0, length: 1)).statusCode == .failure)
        #expect(session.handler.openHandleCount == 0)
    }

    @Test func appendModeWritesAtTheEnd() throws {
        directory.write("log", "one\n")
        let handle = try session.open(directory.file("log"), [.write, .append])
        _ = try Array("two\n".utf8).withUnsafeBytes { try session.send(.write(handle: handle, offset: 0, data: $0)) }
        _ = try session.send(.close(handle: handle))
        #expect(directory.read("log") == "one\ntwo\n")
    }

    @Test func readsLongerThanTheLimitAreShortened() throws {
        let big = String(repeating: "x", count: SFTPLimits.maximumReadLength + 10_000)
        directory.write("big", big)
        let handle = try session.open(directory.file("big"), [.read])
        guard case .data(_, let data) = try session.send(.read(handle: handle, offset: 0, length: .max)) else {
            Issue.record("no data")
            return
        }
        #expect(data.count == SFTPLimits.maximumReadLength)
    }

    @Test func openErrorsMapToStatusCodes() throws {
        let missing = try session.send(.open(path: file("missing"), flags: [.read], attributes: .empty))
        guard case .status(_, .noSuchFile, let message) = missing else {
            Issue.record("expected NO_SUCH_FILE, got \(missing)")
            return
        }
        #expect(message == "No such file or directory")

        directory.write("exists", "x")
        let exclusive = try session.send(.open(path: file("exists"), flags: [.write, .create, .exclusive], attributes: .empty))
        #expect(exclusive == .status(id: 2, code: .failure, message: "File exists"))

        let underFile = try session.send(.stat(path: file("exists/child")))
        #expect(underFile.statusCode == .noSuchFile)  // ENOTDIR
    }

    @Test func setstatAndFsetstat() throws {
        directory.write("f", "0123456789")
        let times = SFTPAttributes.Times(accessTime: 1_000_000_000, modificationTime: 1_234_567_890)
        let reply = try session.send(.setstat(
            path: file("f"), attributes: SFTPAttributes(size: 4, permissions: 0o600, times: times)))
        #expect(reply.statusCode == .ok)
        guard case .attributes(_, let attributes) = try session.send(.stat(path: file("f"))) else {
            Issue.record("no attributes")
            return
        }
        #expect(attributes.size == 4)
        #expect(attributes.permissions.map { $0 & 0o7777 } == 0o600)
        #expect(attributes.times == times)

        let handle = try session.open(directory.file("f"), [.write])
        #expect(try session.send(.fsetstat(handle: handle, attributes: SFTPAttributes(size: 1, permissions: 0o644))).statusCode == .ok)
        #expect(directory.read("f") == "0")
        #expect(directory.mode("f") & 0o777 == 0o644)
        #expect(try session.send(.fsync(handle: handle)).statusCode == .ok)
        #expect(try session.send(.setstat(path: file("missing"), attributes: SFTPAttributes(permissions: 0o600))).statusCode == .noSuchFile)
    }

    // MARK: Directories

    @Test func readdirListsEveryEntryWithAnLsStyleLongname() throws {
        directory.write("alpha", "12345")
        #expect(mkdir(directory.file("sub"), 0o755) == 0)
        #expect(symlink("alpha", directory.file("link")) == 0)
        let handle = try session.openDirectory(directory.path)
        var entries: [String: SFTPNameEntry] = [:]
        while true {
            let reply = try session.send(.readdir(handle: handle))
            if reply.statusCode == .endOfFile { break }
            guard case .name(_, let batch) = reply else {
                Issue.record("unexpected \(reply)")
                return
            }
            for entry in batch { entries[String(decoding: entry.filename, as: UTF8.self)] = entry }
        }
        #expect(Set(entries.keys) == [".", "..", "alpha", "sub", "link"])
        #expect(try session.send(.close(handle: handle)).statusCode == .ok)

        let alpha = try #require(entries["alpha"])
        #expect(alpha.attributes.size == 5)
        let longname = String(decoding: alpha.longname, as: UTF8.self)
        let shape = #/^-rw-r--r-- +1 \d+ +\d+ +5 [A-Z][a-z]{2} [ 1-3]\d (\d\d:\d\d| \d{4}) alpha$/#
        #expect(longname.wholeMatch(of: shape) != nil, "longname: \(longname)")
        #expect(String(decoding: try #require(entries["sub"]).longname, as: UTF8.self).hasPrefix("drwxr-xr-x "))
        // lstat, not stat: the link is listed as a link.
        #expect(String(decoding: try #require(entries["link"]).longname, as: UTF8.self).hasPrefix("lrwxrwxrwx "))
    }

    @Test func largeDirectoriesComeInBatches() throws {
        for index in 0..<250 { directory.write("file\(index)", "") }
        let handle = try session.openDirectory(directory.path)
        var batches: [Int] = []
        while case .name(_, let batch) = try session.send(.readdir(handle: handle)) { batches.append(batch.count) }
        #expect(batches.reduce(0, +) == 252)
        #expect(batches.allSatisfy { $0 <= SFTPLimits.directoryEntriesPerReply })
    }

    @Test func mkdirRmdirAndTheirErrors() throws {
        #expect(try session.send(.mkdir(path: file("d"), attributes: SFTPAttributes(permissions: 0o700))).statusCode == .ok)
        #expect(directory.mode("d") & 0o777 == 0o700)
        #expect(try session.send(.mkdir(path: file("d"), attributes: .empty)) == .status(id: 2, code: .failure, message: "File exists"))
        directory.write("d/inside", "x")
        #expect(try session.send(.rmdir(path: file("d"))) == .status(id: 3, code: .failure, message: "Directory not empty"))
        #expect(try session.send(.remove(path: file("d/inside"))).statusCode == .ok)
        #expect(try session.send(.remove(path: file("d/inside"))).statusCode == .noSuchFile)
        #expect(try session.send(.rmdir(path: file("d"))).statusCode == .ok)
        #expect(!directory.exists("d"))
        #expect(try session.send(.opendir(path: file("d"))).statusCode == .noSuchFile)
    }

    // MARK: Names

    @Test func renameRefusesToReplaceButPosixRenameReplaces() throws {
        directory.write("a", "A")
        directory.write("b", "B")
        let refused = try session.send(.rename(oldPath: file("a"), newPath: file("b")))
        #expect(refused == .status(id: 1, code: .failure, message: "File exists"))
        #expect(directory.read("a") == "A" && directory.read("b") == "B")

        #expect(try session.send(.rename(oldPath: file("a"), newPath: file("c"))).statusCode == .ok)
        #expect(!directory.exists("a") && directory.read("c") == "A")

        #expect(try session.send(.posixRename(oldPath: file("c"), newPath: file("b"))).statusCode == .ok)
        #expect(!directory.exists("c") && directory.read("b") == "A")

        #expect(try session.send(.rename(oldPath: file("nothing"), newPath: file("x"))).statusCode == .noSuchFile)
    }

    @Test func renameOfDirectoriesAndLinksAlsoRefusesToReplace() throws {
        #expect(mkdir(directory.file("d1"), 0o755) == 0)
        #expect(mkdir(directory.file("d2"), 0o755) == 0)
        #expect(try session.send(.rename(oldPath: file("d1"), newPath: file("d2"))).statusCode == .failure)
        #expect(try session.send(.rename(oldPath: file("d1"), newPath: file("d3"))).statusCode == .ok)
        #expect(symlink("nowhere", directory.file("dangling")) == 0)
        #expect(try session.send(.rename(oldPath: file("d3"), newPath: file("dangling"))).statusCode == .failure)
    }

    @Test func symlinkTakesTheTargetFirstAsOpenSSHSends() throws {
        directory.write("target", "T")
        #expect(try session.send(.symlink(targetPath: path("target"), linkPath: file("link"))).statusCode == .ok)
        guard case .name(_, let entries) = try session.send(.readlink(path: file("link"))) else {
            Issue.record("no name")
            return
        }
        #expect(entries.map(\.filename) == [Array("target".utf8)])
        guard case .attributes(_, let linkAttributes) = try session.send(.lstat(path: file("link"))),
            case .attributes(_, let targetAttributes) = try session.send(.stat(path: file("link")))
        else {
            Issue.record("no attributes")
            return
        }
        #expect(linkAttributes.permissions.map { $0 & 0o170000 } == 0o120000)
        #expect(targetAttributes.size == 1)
        #expect(try session.send(.readlink(path: file("target"))).statusCode == .badMessage)  // EINVAL
    }

    @Test func hardlinkMakesASecondName() throws {
        directory.write("one", "1")
        #expect(try session.send(.hardlink(existingPath: file("one"), newPath: file("two"))).statusCode == .ok)
        #expect(directory.read("two") == "1")
        #expect(try session.send(.hardlink(existingPath: file("one"), newPath: file("two"))).statusCode == .failure)
    }

    @Test func realpathCanonicalises() throws {
        #expect(mkdir(directory.file("real"), 0o755) == 0)
        #expect(symlink(directory.file("real"), directory.file("alias")) == 0)
        #expect(symlink("real/../real", directory.file("relative")) == 0)
        let real = directory.file("real")

        func resolve(_ text: String) throws -> DecodedReply { try session.send(.realpath(path: path(text))) }
        func resolved(_ text: String) throws -> String? {
            guard case .name(_, let entries) = try resolve(text), entries.count == 1 else { return nil }
            #expect(entries[0].filename == entries[0].longname)
            #expect(entries[0].attributes == .empty)
            return String(decoding: entries[0].filename, as: UTF8.self)
        }

        #expect(try resolved(directory.path + "/./real/") == real)
        #expect(try resolved(directory.path + "/alias") == real)
        #expect(try resolved(directory.path + "/relative/.") == real)
        #expect(try resolved(directory.path + "/alias/../alias/new-file") == real + "/new-file")
        #expect(try resolved("/../..") == "/")
        #expect(try resolved("//") == "/")
        // Only the last component may be missing.
        #expect(try resolve(directory.path + "/missing/new-file").statusCode == .noSuchFile)

        let cwd = try SFTPFileSystem().currentDirectory().description
        #expect(try resolved(".") == cwd)
        #expect(try resolved("") == cwd)
    }

    @Test func symlinkLoopsAreReported() throws {
        #expect(symlink("loop2", directory.file("loop1")) == 0)
        #expect(symlink("loop1", directory.file("loop2")) == 0)
        #expect(try session.send(.realpath(path: file("loop1"))).statusCode == .noSuchFile)  // ELOOP
    }

    // MARK: Extensions

    @Test func statvfsAndFstatvfs() throws {
        guard case .extendedReply(_, let bytes) = try session.send(.statvfs(path: path(directory.path))) else {
            Issue.record("no extended reply")
            return
        }
        let fields = uint64Fields(bytes)
        #expect(fields.count == 11)
        #expect(fields[0] > 0)  // block size
        #expect(fields[2] >= fields[3])  // total blocks >= free blocks
        #expect(fields[10] >= 255)  // name length

        directory.write("f", "")
        let handle = try session.open(directory.file("f"), [.read])
        guard case .extendedReply(_, let viaHandle) = try session.send(.fstatvfs(handle: handle)) else {
            Issue.record("no extended reply")
            return
        }
        #expect(uint64Fields(viaHandle)[0] == fields[0])
        #expect(try session.send(.statvfs(path: file("missing"))).statusCode == .noSuchFile)
    }

    @Test func limitsMatchWhatTheServerAccepts() throws {
        guard case .extendedReply(_, let bytes) = try session.send(.limits) else {
            Issue.record("no extended reply")
            return
        }
        let fields = uint64Fields(bytes)
        #expect(fields == [262_144, 261_120, 261_120, UInt64(SFTPLimits.maximumOpenHandles)])
        #expect(fields[0] <= UInt64(SFTPLimits.maximumPacketBodyLength))
    }

    @Test func expandPathUsesHome() throws {
        guard let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty else { return }
        let canonicalHome = try SFTPPathResolver().canonicalPath(SFTPPath(home)).description
        guard case .name(_, let entries) = try session.send(.expandPath(path: path("~"))) else {
            Issue.record("no name")
            return
        }
        #expect(entries.first.map { String(decoding: $0.filename, as: UTF8.self) } == canonicalHome)
        #expect(try session.send(.expandPath(path: path("~root/x"))).statusCode == .failure)
    }

    // MARK: Bad requests

    @Test func unsupportedRequestsGetOpUnsupportedWithTheirId() throws {
        let reply = try session.sendRaw([250, 0, 0, 0x12, 0x34])
        #expect(reply == .status(id: 0x1234, code: .operationUnsupported, message: "Unsupported request type 250"))
        let unknownExtension = try session.send(.unsupportedExtension(name: Array("copy-data".utf8)))
        #expect(unknownExtension.statusCode == .operationUnsupported)
    }

    @Test func malformedRequestsGetBadMessageAndTheSessionGoesOn() throws {
        // OPEN whose path length runs past the end.
        let reply = try session.sendRaw([SFTPMessageType.open, 0, 0, 0, 9, 0, 0, 1, 0, 0x61])
        guard case .status(9, .badMessage, let message) = reply else {
            Issue.record("expected BAD_MESSAGE, got \(reply)")
            return
        }
        #expect(message.contains("open path"))
        #expect(try session.send(.realpath(path: path("/"))) != reply)
    }

    @Test func invalidHandlesFail() throws {
        #expect(try session.send(.close(handle: .invalid)) == .status(id: 1, code: .failure, message: "Invalid handle"))
        let directoryHandle = try session.openDirectory(directory.path)
        // A directory handle is not a file handle, and the other way round.
        #expect(try session.send(.read(handle: directoryHandle, offset: 0, length: 10)).statusCode == .failure)
        directory.write("f", "")
        let fileHandle = try session.open(directory.file("f"), [.read])
        #expect(try session.send(.readdir(handle: fileHandle)).statusCode == .failure)
    }

    @Test func handleTableIsBoundedAndClosedAtTheEnd() throws {
        directory.write("f", "")
        for _ in 0..<SFTPLimits.maximumOpenHandles { _ = try session.open(directory.file("f"), [.read]) }
        let refused = try session.send(.open(path: file("f"), flags: [.read], attributes: .empty))
        #expect(refused.statusCode == .failure)
        #expect(session.handler.openHandleCount == SFTPLimits.maximumOpenHandles)
        session.handler.closeAllHandles()
        #expect(session.handler.openHandleCount == 0)
    }
}

private func currentUmask() -> UInt32 {
    let mask = umask(0)
    umask(mask)
    return UInt32(mask)
}
