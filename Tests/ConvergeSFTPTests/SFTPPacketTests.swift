import Testing
@testable import ConvergeSFTP

/// Decodes a whole packet (length prefix included) the way the server does.
/// Only for messages without WRITE data, which would point into `packet`.
private func decodePacket(_ packet: [UInt8]) throws -> SFTPClientMessage {
    try packet.withUnsafeBytes { raw in
        guard case .complete(let bodyLength) = try SFTPFraming.scan(raw) else {
            throw SFTPDecodeError(.truncated, "incomplete frame in test")
        }
        #expect(bodyLength == packet.count - 4)
        return try SFTPClientMessage.decode(UnsafeRawBufferPointer(rebasing: raw[4...]))
    }
}

private func scanError(_ bytes: [UInt8]) -> SFTPDecodeError? {
    do {
        _ = try bytes.withUnsafeBytes { try SFTPFraming.scan($0) }
        return nil
    } catch {
        return error as? SFTPDecodeError
    }
}

private func roundTrip(_ message: SFTPClientMessage) throws -> [UInt8] {
    let packet = encodedPacket(message)
    return try packet.withUnsafeBytes { raw in
        let decoded = try SFTPClientMessage.decode(UnsafeRawBufferPointer(rebasing: raw[4...]))
        return encodedPacket(decoded)
    }
}

private func decodeError(_ body: [UInt8]) -> SFTPDecodeError? {
    do {
        _ = try body.withUnsafeBytes { try SFTPClientMessage.decode($0) }
        return nil
    } catch {
        return error as? SFTPDecodeError
    }
}

private let fullAttributes = SFTPAttributes(
    size: 0x1_0000_0001, ownerIDs: .init(userID: 1000, groupID: 100), permissions: 0o100644,
    times: .init(accessTime: 1_700_000_000, modificationTime: 1_700_000_123),
    extended: [.init(name: Array("vendor@example.com".utf8), data: [1, 2, 3])])

private let handle = SFTPHandle(rawValue: 0x0102_0304)

private let payload: [UInt8] = Array(0..<200).map { UInt8($0) }

@Suite struct SFTPPacketTests {
    nonisolated(unsafe) static let operations: [SFTPOperation] = [
        .open(path: path("dir/file"), flags: [.read, .write, .create, .truncate], attributes: fullAttributes),
        .open(path: path("x"), flags: [.write, .append, .exclusive], attributes: .empty),
        .close(handle: handle),
        .read(handle: handle, offset: 1 << 40, length: 261_120),
        .lstat(path: path("/etc")),
        .fstat(handle: handle),
        .setstat(path: path("f"), attributes: fullAttributes),
        .fsetstat(handle: handle, attributes: SFTPAttributes(permissions: 0o600)),
        .opendir(path: path(".")),
        .readdir(handle: handle),
        .remove(path: path("gone")),
        .mkdir(path: path("new"), attributes: SFTPAttributes(permissions: 0o755)),
        .rmdir(path: path("new")),
        .realpath(path: path("")),
        .stat(path: path("a")),
        .rename(oldPath: path("a"), newPath: path("b")),
        .readlink(path: path("link")),
        .symlink(targetPath: path("target"), linkPath: path("link")),
        .posixRename(oldPath: path("a"), newPath: path("b")),
        .statvfs(path: path("/")),
        .fstatvfs(handle: handle),
        .hardlink(existingPath: path("a"), newPath: path("b")),
        .fsync(handle: handle),
        .limits,
        .lsetstat(path: path("l"), attributes: SFTPAttributes(times: .init(accessTime: 1, modificationTime: 2))),
        .expandPath(path: path("~/x")),
        .unsupportedExtension(name: Array("copy-data".utf8)),
        .unsupported(type: 42),
    ]

    @Test(arguments: 0..<operations.count)
    func requestsSurviveEncodeDecodeEncode(index: Int) throws {
        let message = SFTPClientMessage.request(SFTPRequest(id: UInt32(index) + 7, operation: Self.operations[index]))
        #expect(try roundTrip(message) == encodedPacket(message))
    }

    @Test func writeRoundTripsAndBorrowsItsData() throws {
        let packet = payload.withUnsafeBytes { data in
            encodedPacket(.request(SFTPRequest(id: 9, operation: .write(handle: handle, offset: 512, data: data))))
        }
        try packet.withUnsafeBytes { raw in
            let body = UnsafeRawBufferPointer(rebasing: raw[4...])
            guard case .request(let request) = try SFTPClientMessage.decode(body),
                case .write(let decodedHandle, let offset, let data) = request.operation
            else {
                Issue.record("not a write")
                return
            }
            #expect(request.id == 9)
            #expect(decodedHandle == handle)
            #expect(offset == 512)
            #expect(Array(data) == payload)
            // No copy: the data lies inside the packet.
            #expect(data.baseAddress! >= body.baseAddress! && data.baseAddress! + data.count <= body.baseAddress! + body.count)
        }
    }

    @Test func decodedFieldsMatchWhatWasSent() throws {
        let message = SFTPClientMessage.request(SFTPRequest(
            id: 77, operation: .open(path: path("f"), flags: [.read, .create], attributes: fullAttributes)))
        guard case .request(let request) = try decodePacket(encodedPacket(message)),
            case .open(let openedPath, let flags, let attributes) = request.operation
        else {
            Issue.record("not an open")
            return
        }
        #expect(request.id == 77)
        #expect(openedPath == path("f"))
        #expect(flags == [.read, .create])
        #expect(attributes == fullAttributes)
    }

    @Test func initCarriesTheClientVersionAndIgnoresExtensions() throws {
        var packet = encodedPacket(.initialize(version: 3))
        // Append an extension pair to the body and fix the length.
        packet += [0, 0, 0, 1, UInt8(ascii: "x"), 0, 0, 0, 0]
        packet[3] = UInt8(packet.count - 4)
        guard case .initialize(let version) = try decodePacket(packet) else {
            Issue.record("not init")
            return
        }
        #expect(version == 3)
    }

    @Test func framingWaitsForWholePackets() throws {
        let packet = encodedPacket(.request(SFTPRequest(id: 1, operation: .stat(path: path("abc")))))
        for cut in 0..<packet.count {
            let scan = try Array(packet[..<cut]).withUnsafeBytes { try SFTPFraming.scan($0) }
            #expect(scan == .incomplete(frameLength: cut < 4 ? 4 : packet.count))
        }
        let whole = try (packet + [9, 9]).withUnsafeBytes { try SFTPFraming.scan($0) }
        #expect(whole == .complete(bodyLength: packet.count - 4))
    }

    @Test func oversizedLengthIsRefusedBeforeAnyBodyArrives() {
        let limit = SFTPLimits.maximumPacketBodyLength
        let tooLong = UInt32(limit + 1)
        let header: [UInt8] = [UInt8(tooLong >> 24), UInt8(tooLong >> 16 & 0xff), UInt8(tooLong >> 8 & 0xff), UInt8(tooLong & 0xff)]
        #expect(scanError(header)?.kind == .packetTooLarge)
        let error = scanError([0xff, 0xff, 0xff, 0xff])
        #expect(error?.kind == .packetTooLarge)
        #expect(error?.message.contains("exceeds") == true)
        // Exactly the limit is fine.
        let atLimit = UInt32(limit)
        let okHeader: [UInt8] = [UInt8(atLimit >> 24), UInt8(atLimit >> 16 & 0xff), UInt8(atLimit >> 8 & 0xff), UInt8(atLimit & 0xff)]
        #expect((try? okHeader.withUnsafeBytes { try SFTPFraming.scan($0) }) == .incomplete(frameLength: limit + 4))
    }

    @Test func zeroLengthPacketIsAnError() {
        #expect(scanError([0, 0, 0, 0, 1, 2, 3, 4])?.kind == .emptyPacket)
    }

    @Test func everyTruncationOfARequestIsATypedError() {
        let operations: [SFTPOperation] = [
            .open(path: path("some/file"), flags: [.read], attributes: fullAttributes),
            .read(handle: handle, offset: 5, length: 6),
            .rename(oldPath: path("a"), newPath: path("b")),
            .posixRename(oldPath: path("a"), newPath: path("b")),
            .lsetstat(path: path("l"), attributes: fullAttributes),
        ]
        for operation in operations {
            let body = encodedBody(.request(SFTPRequest(id: 0xABCD, operation: operation)))
            for cut in 0..<body.count {
                guard let error = decodeError(Array(body[..<cut])) else {
                    Issue.record("prefix of \(cut) bytes of \(operation) decoded")
                    continue
                }
                #expect(error.kind == .truncated || error.kind == .badStringLength)
                #expect(!error.message.isEmpty)
                // Once the id has been read, the error names it so the reply can too.
                #expect(error.requestID == (cut >= 5 ? 0xABCD : nil))
            }
        }
    }

    @Test func stringLongerThanThePacketIsABadStringLength() {
        // STAT, id 5, path length 0xFFFFFFF0 with 3 bytes present.
        let body: [UInt8] = [SFTPMessageType.stat, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xf0, 0x61, 0x62, 0x63]
        let error = decodeError(body)
        #expect(error?.kind == .badStringLength)
        #expect(error?.requestID == 5)
        #expect(error?.message.contains("4294967280") == true)
    }

    @Test func pathWithNulByteIsRejected() {
        let body: [UInt8] = [SFTPMessageType.remove, 0, 0, 0, 6, 0, 0, 0, 3, 0x61, 0, 0x62]
        let error = decodeError(body)
        #expect(error?.kind == .invalidValue)
        #expect(error?.requestID == 6)
    }

    @Test func unknownTypesAndExtensionsDecodeAsUnsupported() throws {
        guard case .request(let request) = try decodePacket([0, 0, 0, 5, 99, 0, 0, 0, 3]),
            case .unsupported(let type) = request.operation
        else {
            Issue.record("unknown type not decoded as unsupported")
            return
        }
        #expect(type == 99)
        #expect(request.id == 3)
    }

    @Test func handleOfTheWrongSizeNeverMatches() throws {
        // CLOSE with a 2-byte handle.
        guard case .request(let request) = try decodePacket([0, 0, 0, 11, SFTPMessageType.close, 0, 0, 0, 1, 0, 0, 0, 2, 7, 7]),
            case .close(let decoded) = request.operation
        else {
            Issue.record("not a close")
            return
        }
        #expect(decoded == .invalid)
    }

    @Test func hostileExtendedAttributeCountFailsQuickly() {
        // SETSTAT "a" with flags EXTENDED and a count of 4 billion, no pairs.
        let body: [UInt8] = [SFTPMessageType.setstat, 0, 0, 0, 1, 0, 0, 0, 1, 0x61, 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
        #expect(decodeError(body)?.kind == .truncated)
    }

    /// A small fuzz pass: random and mutated packets never crash the decoder.
    @Test func randomBytesNeverCrashTheDecoder() {
        var generator = SplitMix64(seed: 0x5EED)
        let seeds = Self.operations.map { encodedBody(.request(SFTPRequest(id: 1, operation: $0))) }
        for round in 0..<20_000 {
            var body: [UInt8]
            if round % 2 == 0 {
                body = (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            } else {
                body = seeds[Int(generator.next() % UInt64(seeds.count))]
                for _ in 0..<1 + Int(generator.next() % 4) where !body.isEmpty {
                    body[Int(generator.next() % UInt64(body.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
                body = Array(body.prefix(Int(generator.next() % UInt64(body.count + 1))))
            }
            _ = decodeError(body)
            _ = try? ([0, 0, 0, UInt8(body.count & 0xff)] + body).withUnsafeBytes { try SFTPFraming.scan($0) }
        }
    }

    @Test func statusReplyLayout() throws {
        let buffer = SFTPByteBuffer()
        buffer.appendStatusReply(id: 0x0A0B0C0D, code: .noSuchFile, message: "No such file")
        let expected: [UInt8] =
            [0, 0, 0, 29, SFTPMessageType.status, 0x0A, 0x0B, 0x0C, 0x0D, 0, 0, 0, 2, 0, 0, 0, 12]
            + Array("No such file".utf8) + [0, 0, 0, 0]
        #expect(buffer.bytes == expected)
        #expect(try decodeReplies(buffer.bytes) == [.status(id: 0x0A0B0C0D, code: .noSuchFile, message: "No such file")])
    }

    @Test func dataReplyIsFilledInPlaceAndUndoneWhenEmpty() throws {
        let buffer = SFTPByteBuffer(capacity: 16)
        let filled = buffer.appendDataReply(id: 4, maximumLength: 100) { space in
            for index in 0..<10 { space[index] = UInt8(index) }
            return 10
        }
        #expect(filled == 10)
        #expect(try decodeReplies(buffer.bytes) == [.data(id: 4, Array(0..<10))])
        let before = buffer.count
        #expect(buffer.appendDataReply(id: 5, maximumLength: 100) { _ in 0 } == 0)
        #expect(buffer.count == before)
    }

    @Test func nameAndAttributesRepliesDecode() throws {
        let buffer = SFTPByteBuffer()
        let entry = SFTPNameEntry(filename: Array("f".utf8), longname: Array("-rw-r--r-- f".utf8), attributes: fullAttributes)
        buffer.appendNameReply(id: 1, entries: [entry, entry])
        buffer.appendAttributesReply(id: 2, attributes: fullAttributes)
        buffer.appendHandleReply(id: 3, handle: handle)
        #expect(try decodeReplies(buffer.bytes) == [
            .name(id: 1, [entry, entry]), .attributes(id: 2, fullAttributes), .handle(id: 3, [1, 2, 3, 4]),
        ])
    }
}

/// Deterministic pseudo-random numbers, so a failing fuzz case can be replayed.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
