import ConvergeNet
import Glibc
import Testing

@Suite struct FDPassingTests {
    @Test func descriptorsAndPayloadArriveTogether() throws {
        let (left, right) = try Socket.pair(.seqpacket)
        let (a, b) = try Socket.pair()
        defer { [left, right, a, b].forEach { close($0.rawValue) } }
        try FDPassing.send([a], payload: Array("hello".utf8), over: left)
        let message = try #require(try FDPassing.receive(from: right))
        #expect(message.payload == Array("hello".utf8))
        #expect(message.fds.count == 1)
        let received = message.fds[0]
        defer { close(received.rawValue) }
        #expect(fcntl(received.rawValue, F_GETFD) & FD_CLOEXEC != 0)
        var byte: UInt8 = 42
        #expect(write(received.rawValue, &byte, 1) == 1)
        byte = 0
        #expect(read(b.rawValue, &byte, 1) == 1)
        #expect(byte == 42)
        close(left.rawValue)
        #expect(try FDPassing.receive(from: right) == nil)
    }
}
