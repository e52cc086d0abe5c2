import Glibc
@testable import ConvergeSFTP

/// A server reply, decoded by the tests (the server itself never decodes replies).
enum DecodedReply: Equatable {
    case version(UInt32, extensions: [String: String])
    case status(id: UInt32, code: SFTPStatusCode, message: String)
    case handle(id: UInt32, [UInt8])
    case data(id: UInt32, [UInt8])
    case name(id: UInt32, [SFTPNameEntry])
    case attributes(id: UInt32, SFTPAttributes)
    case extendedReply(id: UInt32, [UInt8])

    var statusCode: SFTPStatusCode? {
        if case .status(_, let code, _) = self { return code }
        return nil
    }

    var id: UInt32? {
        switch self {
        case .version: nil
        case .status(let id, _, _), .handle(let id, _), .data(let id, _), .name(let id, _),
            .attributes(let id, _), .extendedReply(let id, _):
            id
        }
    }
}

struct ReplyDecodingFailure: Error, CustomStringConvertible {
    var description: String
}

/// Splits `bytes` into packets and decodes each as a reply.
func decodeReplies(_ bytes: [UInt8]) throws -> [DecodedReply] {
    var replies: [DecodedReply] = []
    var offset = 0
    while offset < bytes.count {
        let frame = try bytes[offset...].withUnsafeBytes { unread in
            try SFTPFraming.scan(unread, maximumBodyLength: 1 << 24)
        }
        guard case .complete(let bodyLength) = frame else {
            throw ReplyDecodingFailure(description: "reply stream ends inside a packet")
        }
        let body = Array(bytes[(offset + 4)..<(offset + 4 + bodyLength)])
        replies.append(try decodeReply(body))
        offset += 4 + bodyLength
    }
    return replies
}

func decodeReply(_ body: [UInt8]) throws -> DecodedReply {
    try body.withUnsafeBytes { raw in
        var reader = SFTPByteReader(raw)
        let type = try reader.readUInt8("type")
        if type == SFTPMessageType.version {
            let version = try reader.readUInt32("version")
            var extensions: [String: String] = [:]
            while reader.remainingCount > 0 {
                let name = String(decoding: try reader.readString("name"), as: UTF8.self)
                extensions[name] = String(decoding: try reader.readString("data"), as: UTF8.self)
            }
            return .version(version, extensions: extensions)
        }
        let id = try reader.readUInt32("id")
        switch type {
        case SFTPMessageType.status:
            let code = SFTPStatusCode(rawValue: try reader.readUInt32("code"))
            let message = String(decoding: try reader.readString("message"), as: UTF8.self)
            _ = try reader.readString("language")
            return .status(id: id, code: code, message: message)
        case SFTPMessageType.handle:
            return .handle(id: id, try reader.readString("handle"))
        case SFTPMessageType.data:
            return .data(id: id, try reader.readString("data"))
        case SFTPMessageType.name:
            let count = try reader.readUInt32("count")
            var entries: [SFTPNameEntry] = []
            for _ in 0..<count {
                let filename = try reader.readString("filename")
                let longname = try reader.readString("longname")
                let attributes = try SFTPAttributes.decode(from: &reader)
                entries.append(SFTPNameEntry(filename: filename, longname: longname, attributes: attributes))
            }
            return .name(id: id, entries)
        case SFTPMessageType.attrs:
            return .attributes(id: id, try SFTPAttributes.decode(from: &reader))
        case SFTPMessageType.extendedReply:
            var rest: [UInt8] = []
            while reader.remainingCount > 0 { rest.append(try reader.readUInt8("byte")) }
            return .extendedReply(id: id, rest)
        default:
            throw ReplyDecodingFailure(description: "unexpected reply type \(type)")
        }
    }
}

/// The uint64 fields of an EXTENDED_REPLY (statvfs, limits).
func uint64Fields(_ bytes: [UInt8]) -> [UInt64] {
    stride(from: 0, to: bytes.count - 7, by: 8).map { start in
        bytes[start..<start + 8].reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
    }
}

/// The whole packet (length prefix included) for a message.
func encodedPacket(_ message: SFTPClientMessage) -> [UInt8] {
    let buffer = SFTPByteBuffer()
    message.encode(into: buffer)
    return buffer.bytes
}

/// The packet body (no length prefix), as `SFTPRequestHandler.handle` takes it.
func encodedBody(_ message: SFTPClientMessage) -> [UInt8] {
    Array(encodedPacket(message).dropFirst(4))
}

/// A private directory under /tmp, removed with everything in it at the end of a test.
final class TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/converge-sftp-test-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        removeTree(path)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ contents: String) {
        let fd = open(file(name), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0, "cannot create \(name)")
        var contents = contents
        contents.withUTF8 { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    func read(_ name: String) -> String? {
        let fd = open(file(name), O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func exists(_ name: String) -> Bool {
        var status = stat()
        return lstat(file(name), &status) == 0
    }

    func mode(_ name: String) -> UInt32 {
        var status = stat()
        precondition(lstat(file(name), &status) == 0, "no \(name)")
        return UInt32(status.st_mode)
    }
}

private func removeTree(_ path: String) {
    var status = stat()
    guard lstat(path, &status) == 0 else { return }
    if status.st_mode & S_IFMT == S_IFDIR {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { removeTree(path + "/" + name) }
            }
            closedir(directory)
        }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// A handler that has been through INIT, with a helper to send one request and
/// decode its single reply.
struct HandlerSession {
    var handler = SFTPRequestHandler()
    let output = SFTPByteBuffer()
    private var nextID: UInt32 = 1

    init() {
        let outcome = encodedBody(.initialize(version: 3)).withUnsafeBytes {
            handler.handle(packet: $0, replyingInto: output)
        }
        precondition(outcome == .continueSession, "INIT refused")
        output.removeAll()
    }

    /// Sends one request and returns its reply, checking the id is echoed.
    mutating func send(_ operation: SFTPOperation) throws -> DecodedReply {
        let id = nextID
        nextID += 1
        let reply = try sendRaw(encodedBody(.request(SFTPRequest(id: id, operation: operation))))
        guard reply.id == id else { throw ReplyDecodingFailure(description: "reply id \(String(describing: reply.id)) for request \(id)") }
        return reply
    }

    mutating func sendRaw(_ body: [UInt8]) throws -> DecodedReply {
        output.removeAll()
        let outcome = body.withUnsafeBytes { handler.handle(packet: $0, replyingInto: output) }
        guard outcome == .continueSession else { throw ReplyDecodingFailure(description: "session ended: \(outcome)") }
        let replies = try decodeReplies(output.bytes)
        guard replies.count == 1 else { throw ReplyDecodingFailure(description: "\(replies.count) replies") }
        return replies[0]
    }

    /// Opens `path` and returns the handle, failing the test on any other reply.
    mutating func open(_ path: String, _ flags: SFTPOpenFlags, permissions: UInt32? = nil) throws -> SFTPHandle {
        let reply = try send(.open(path: SFTPPath(path), flags: flags, attributes: SFTPAttributes(permissions: permissions)))
        return try handle(from: reply)
    }

    mutating func openDirectory(_ path: String) throws -> SFTPHandle {
        try handle(from: try send(.opendir(path: SFTPPath(path))))
    }

    private func handle(from reply: DecodedReply) throws -> SFTPHandle {
        guard case .handle(_, let bytes) = reply, bytes.count == 4 else {
            throw ReplyDecodingFailure(description: "expected a handle, got \(reply)")
        }
        return SFTPHandle(rawValue: bytes.reduce(UInt32(0)) { ($0 << 8) | UInt32($1) })
    }
}

func path(_ text: String) -> SFTPPath { SFTPPath(text) }
