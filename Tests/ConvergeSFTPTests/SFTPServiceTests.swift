import Glibc
import Testing
@testable import ConvergeSFTP

/// `SFTPService.serve` end to end: requests come from a file, replies go to a file,
/// so no threads are needed.
@Suite final class SFTPServiceTests {
    let directory = TemporaryDirectory()

    private func serve(_ stream: [UInt8]) throws -> [UInt8] {
        let requests = directory.file("requests")
        let replies = directory.file("replies")
        let input = open(requests, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        let output = open(replies, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        defer {
            close(input)
            close(output)
        }
        try #require(input >= 0 && output >= 0)
        _ = stream.withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
        lseek(input, 0, SEEK_SET)
        SFTPService.serve(input: input, output: output)
        lseek(output, 0, SEEK_SET)
        var bytes = [UInt8](repeating: 0, count: 1 << 22)
        let count = bytes.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
        return Array(bytes[..<max(count, 0)])
    }

    private func packets(_ messages: [SFTPClientMessage]) -> [UInt8] {
        messages.flatMap(encodedPacket)
    }

    @Test func pipelinedUploadAndDownload() throws {
        let chunk = [UInt8](repeating: 0x5A, count: 200_000)
        let target = SFTPPath(directory.file("upload"))
        // Handle numbers start at 0, so the requests can be written before the replies arrive.
        let handle = SFTPHandle(rawValue: 0)
        let stream = chunk.withUnsafeBytes { data in
            packets([
                .initialize(version: 3),
                .request(SFTPRequest(id: 1, operation: .open(path: target, flags: [.write, .create, .truncate], attributes: .empty))),
                .request(SFTPRequest(id: 2, operation: .write(handle: handle, offset: 0, data: data))),
                .request(SFTPRequest(id: 3, operation: .write(handle: handle, offset: 200_000, data: data))),
                .request(SFTPRequest(id: 4, operation: .close(handle: handle))),
                .request(SFTPRequest(id: 5, operation: .open(path: target, flags: [.read], attributes: .empty))),
                .request(SFTPRequest(id: 6, operation: .read(handle: SFTPHandle(rawValue: 1), offset: 0, length: 261_120))),
                .request(SFTPRequest(id: 7, operation: .read(handle: SFTPHandle(rawValue: 1), offset: 261_120, length: 261_120))),
                .request(SFTPRequest(id: 8, operation: .read(handle: SFTPHandle(rawValue: 1), offset: 400_000, length: 261_120))),
            ])
        }
        let replies = try decodeReplies(try serve(stream))
        #expect(replies.count == 9)
        guard replies.count == 9 else { return }
        #expect(replies[1] == .handle(id: 1, [0, 0, 0, 0]))
        #expect(replies[2...4].allSatisfy { $0.statusCode == .ok })
        #expect(replies[5] == .handle(id: 5, [0, 0, 0, 1]))
        guard case .data(6, let first) = replies[6], case .data(7, let second) = replies[7] else {
            Issue.record("expected data, got \(replies[6]) and \(replies[7])")
            return
        }
        #expect(first.count == 261_120 && second.count == 400_000 - 261_120)
        #expect((first + second).allSatisfy { $0 == 0x5A })
        #expect(replies[8].statusCode == .endOfFile)
    }

    @Test func oversizedPacketEndsTheSessionAfterEarlierReplies() throws {
        let stream = packets([
            .initialize(version: 3),
            .request(SFTPRequest(id: 1, operation: .realpath(path: path("/")))),
        ]) + [0x7f, 0xff, 0xff, 0xff, SFTPMessageType.stat] + packets([
            .request(SFTPRequest(id: 2, operation: .realpath(path: path("/")))),
        ])
        let replies = try decodeReplies(try serve(stream))
        #expect(replies.count == 2)
        #expect(replies.last?.id == 1)
    }

    @Test func truncatedLastPacketIsIgnoredAtEndOfInput() throws {
        let stream = packets([.initialize(version: 3), .request(SFTPRequest(id: 1, operation: .limits))])
        let replies = try decodeReplies(try serve(stream + [0, 0, 0, 50, 17, 0]))
        #expect(replies.count == 2)
    }

    @Test func clientThatHungUpEndsTheSessionWithoutASignal() throws {
        var sockets: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &sockets) == 0)
        close(sockets[1])
        defer { close(sockets[0]) }
        let input = open(directory.file("requests"), O_RDWR | O_CREAT | O_TRUNC, 0o600)
        defer { close(input) }
        let stream = packets([.initialize(version: 3), .request(SFTPRequest(id: 1, operation: .limits))])
        _ = stream.withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
        lseek(input, 0, SEEK_SET)
        // With SIGPIPE at its default this would kill the test process.
        let previous = signal(SIGPIPE, SIG_DFL)
        defer { signal(SIGPIPE, previous) }
        SFTPService.serve(input: input, output: sockets[0])
    }

    @Test func garbageInsteadOfInitEndsTheSessionSilently() throws {
        #expect(try serve(Array("SSH-2.0-not-sftp\r\n".utf8)).isEmpty)
    }
}

@Suite struct SFTPInputBufferTests {
    @Test func packetsSplitAcrossReadsAndCompaction() throws {
        let bodyLimit = 1000
        let buffer = SFTPInputBuffer(capacity: 1100, maximumBodyLength: bodyLimit)
        // Bodies of varying sizes, delivered in odd-sized reads.
        var stream: [UInt8] = []
        var expected: [[UInt8]] = []
        for index in 0..<60 {
            let body = [UInt8](repeating: UInt8(index), count: 1 + (index * 37) % bodyLimit)
            expected.append(body)
            stream += [0, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
        }
        var offset = 0
        var received: [[UInt8]] = []
        var readSize = 1
        while received.count < expected.count {
            while let packet = try buffer.nextPacket() { received.append(Array(packet)) }
            let delivered = buffer.fill { space in
                let count = min(space.count, readSize, stream.count - offset)
                stream.withUnsafeBytes { source in
                    space.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<offset + count]))
                }
                return count
            }
            offset += delivered
            readSize = readSize * 7 % 1500 + 1
            if delivered == 0 {
                while let packet = try buffer.nextPacket() { received.append(Array(packet)) }
                break
            }
        }
        #expect(received == expected)
    }
}
