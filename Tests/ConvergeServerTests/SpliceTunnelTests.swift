import ConvergeNet
import ConvergeTestSupport
import Glibc
import SystemPackage
import Testing
@testable import ConvergeServer

/// Two socket pairs: the tunnel gets one end of each, the test plays the peers a and b.
struct TunnelFixture {
    let tunnelA: FileDescriptor, tunnelB: FileDescriptor
    let a: Peer, b: Peer

    init() throws {
        let (ta, pa) = try Socket.pair()
        let (tb, pb) = try Socket.pair()
        (tunnelA, tunnelB) = (ta, tb)
        (a, b) = (Peer(pa), Peer(pb))
    }

    /// The default pipe is small, so the tests go through many refills.
    func run(prefixToA: [UInt8] = [], prefixToB: [UInt8] = [], grace: Double = 2, pipeSize: Int32 = 64 * 1024) -> Background<SpliceTunnel.Ending> {
        var options = SpliceTunnel.Options()
        options.closeGrace = grace
        options.pipeSize = pipeSize
        let (ta, tb) = (tunnelA, tunnelB)
        return Background { SpliceTunnel(a: ta, b: tb, prefixToA: prefixToA, prefixToB: prefixToB, options: options).run() }
    }

    func close() {
        for fd in [tunnelA.rawValue, tunnelB.rawValue, a.fd, b.fd] { Glibc.close(fd) }
    }
}

@Suite struct SpliceTunnelTests {
    @Test func bytesBothWaysExactAfterThePrefixes() throws {
        let t = try TunnelFixture()
        defer { t.close() }
        let tunnel = t.run(prefixToA: Array("to a first".utf8), prefixToB: Array("to b first".utf8))
        let up = randomBytes(3_000_000), down = randomBytes(2_000_000)
        let (a, b) = (t.a, t.b)
        let sendingUp = Background { a.send(up) }
        let sendingDown = Background { b.send(down) }
        #expect(try b.receive(10 + up.count) == Array("to b first".utf8) + up)
        #expect(try a.receive(10 + down.count) == Array("to a first".utf8) + down)
        sendingUp.join()
        sendingDown.join()
        shutdown(a.fd, Int32(SHUT_WR))
        shutdown(b.fd, Int32(SHUT_WR))
        let ending = tunnel.join()
        #expect(ending.error == nil)
    }

    @Test func endOfFileHalfClosesAndTheOtherWayGoesOn() throws {
        let t = try TunnelFixture()
        defer { t.close() }
        let tunnel = t.run()
        t.a.send(Array("last words".utf8))
        shutdown(t.a.fd, Int32(SHUT_WR))
        #expect(try t.b.receiveToEnd() == Array("last words".utf8))
        // b still talks to a (a WebSocket peer answers the close, then hangs up).
        t.b.send(Array("reply".utf8))
        #expect(try t.a.receive(5) == Array("reply".utf8))
        shutdown(t.b.fd, Int32(SHUT_WR))
        let ending = tunnel.join()
        #expect(ending.side == .a && ending.error == nil)
        #expect(try t.a.receiveToEnd().isEmpty)
    }

    @Test func aPeerThatNeverHangsUpGetsTheGraceOnly() throws {
        let t = try TunnelFixture()
        defer { t.close() }
        let start = Clock.monotonic()
        let tunnel = t.run(grace: 0.3)
        shutdown(t.b.fd, Int32(SHUT_WR))
        let ending = tunnel.join()
        let took = Clock.monotonic() - start
        #expect(ending.side == .b && ending.error == nil)
        #expect(took >= 0.3 && took < 3, "ended after \(took) s")
    }

    @Test func aResetEndsTheTunnelNamingTheSide() throws {
        let t = try TunnelFixture()
        defer { t.close() }
        let tunnel = t.run()
        // a closes with bytes it never read: its side of the pair reports ECONNRESET.
        t.b.send(randomBytes(1000))
        usleep(200_000)
        Glibc.close(t.a.fd)
        let ending = tunnel.join()
        #expect(ending.side == .a)
        #expect(ending.error?.code == ECONNRESET)
    }

    @Test func aSlowReaderGetsEveryByte() throws {
        let t = try TunnelFixture()
        defer { t.close() }
        let tunnel = t.run()
        let data = randomBytes(1_500_000)
        let a = t.a
        let sending = Background {
            a.send(data)
            shutdown(a.fd, Int32(SHUT_WR))
        }
        var got: [UInt8] = []
        while got.count < data.count {
            usleep(2_000)
            got += try t.b.receive(min(50_000, data.count - got.count))
        }
        sending.join()
        #expect(got == data)
        shutdown(t.b.fd, Int32(SHUT_WR))
        #expect(tunnel.join().error == nil)
    }

    /// A direction that could still move when the tunnel's fairness bound stopped it must not
    /// wait in poll for the other, quiet direction (it did: the session stalled until the
    /// quiet side spoke).
    @Test func aBusyDirectionGoesOnWhileTheOtherIsQuiet() throws {
        let t = try TunnelFixture()
        defer { t.close() }
        let data = randomBytes(120_000)
        t.a.send(data)  // queued before the tunnel starts: every round has bytes to move
        let tunnel = t.run(pipeSize: 4096)  // one page: the bound (16 rounds) is hit early
        #expect(try t.b.receive(data.count, timeout: 5) == data)
        shutdown(t.a.fd, Int32(SHUT_WR))
        shutdown(t.b.fd, Int32(SHUT_WR))
        #expect(tunnel.join().error == nil)
    }
}
