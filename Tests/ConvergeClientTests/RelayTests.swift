@testable import ConvergeClient
import ConvergeNet
import ConvergeTestSupport
import ConvergeWire
import Glibc
import SystemPackage
import Testing

/// plain end (a) ⇄ WebSocket end (b, a client: masks what it sends, server frames unmasked).
struct ClientRelay {
    let plainStream: FileStream
    let wsStream: FileStream
    let plain: Peer   // plays the local program (ssh)
    let server: Peer  // plays the WebSocket server
    let relay: Relay
    let control: (FileDescriptor, FileDescriptor)

    init(options: RelayOptions = quickOptions(), pending: [UInt8] = []) throws {
        (plainStream, plain) = try pair()
        (wsStream, server) = try pair()
        relay = Relay(.plain(plainStream, name: "stdio"),
                      .webSocket(wsStream, name: "server", masksOutgoing: true, incoming: .forbidden, pending: pending),
                      options: options)
        // The relay is single-threaded: the test asks it to stop through a watched socket.
        control = try Socket.pair()
        let relay = relay, fd = control.0
        relay.watch(fd) { _ in
            var byte: UInt8 = 0
            _ = read(fd.rawValue, &byte, 1)
            relay.stop()
        }
    }

    /// Makes the relay call `stop()` on its own thread.
    func stop() {
        var byte: UInt8 = 1
        _ = write(control.1.rawValue, &byte, 1)
    }

    func close() {
        plainStream.close(); wsStream.close(); plain.close(); server.close()
        Glibc.close(control.0.rawValue); Glibc.close(control.1.rawValue)
    }
}

@Suite struct RelayTests {
    @Test func bytesBothWays() throws {
        let t = try ClientRelay()
        defer { t.close() }
        let running = runRelay(t.relay)
        let up = randomBytes(100_000)
        t.plain.send(up)
        let (got, _) = try t.server.data(up.count, expectMasked: true)
        #expect(got == up)
        let down = randomBytes(70_000)
        t.server.sendFrame(.binary, Array(down[..<30_000]), masked: false)
        t.server.sendFrame(.binary, Array(down[30_000...]), masked: false)
        #expect(try t.plain.receive(down.count) == down)
        t.server.sendFrame(.close, WebSocketFrameHeader.closePayload(code: 1000, reason: "bye"), masked: false)
        let (reply, payload) = try t.server.frame(expectMasked: true)
        #expect(reply.opcode == .close)
        #expect(payload == [0x03, 0xE8])
        #expect(try t.plain.receiveToEnd().isEmpty)  // EOF on the plain side
        let outcome = try running.join().get()
        #expect(outcome == .closed(by: .b, code: 1000, reason: "bye"))
        #expect(t.relay.bytesAToB == UInt64(up.count))
        #expect(t.relay.bytesBToA == UInt64(down.count))
    }

    @Test func fragmentedFramesWithControlFramesInterleaved() throws {
        let t = try ClientRelay()
        defer { t.close() }
        let running = runRelay(t.relay)
        t.server.sendFrame(.text, Array("hel".utf8), fin: false, masked: false)
        t.server.sendFrame(.ping, [1, 2, 3], masked: false)
        t.server.sendFrame(.continuation, Array("lo ".utf8), fin: false, masked: false)
        t.server.sendFrame(.pong, [], masked: false)
        t.server.sendFrame(.continuation, Array("world".utf8), fin: true, masked: false)
        t.server.sendFrame(.binary, [], masked: false)  // empty frames carry nothing
        #expect(try t.plain.receive(11) == Array("hello world".utf8))
        let (pong, payload) = try t.server.frame(expectMasked: true)
        #expect(pong.opcode == .pong)
        #expect(payload == [1, 2, 3])
        t.plain.shutdownWrite()
        let (close, _) = try t.server.frame(expectMasked: true)
        #expect(close.opcode == .close)
        t.server.sendFrame(.close, [0x03, 0xE8], masked: false)
        #expect(try running.join().get() == .endOfInput(.a))
    }

    @Test func pingIsAnsweredWithPong() throws {
        let t = try ClientRelay()
        defer { t.close() }
        let running = runRelay(t.relay)
        t.server.sendFrame(.ping, Array("are you there".utf8), masked: false)
        let (pong, payload) = try t.server.frame(expectMasked: true)
        #expect(pong.opcode == .pong)
        #expect(payload == Array("are you there".utf8))
        t.stop()
        _ = try? running.join().get()
    }

    @Test func endOfInputSendsCloseAndRelaysTheReplyFirst() throws {
        let t = try ClientRelay()
        defer { t.close() }
        let running = runRelay(t.relay)
        t.plain.send(Array("request".utf8))
        t.plain.shutdownWrite()
        let (data, control) = try t.server.data(7)
        #expect(data == Array("request".utf8))
        #expect(control.isEmpty)
        let (close, payload) = try t.server.frame(expectMasked: true)
        #expect(close.opcode == .close)
        #expect(payload == [0x03, 0xE8])
        // The answer still reaches the plain side after our close went out.
        t.server.sendFrame(.binary, Array("answer".utf8), masked: false)
        t.server.sendFrame(.close, [0x03, 0xE8], masked: false)
        #expect(try t.plain.receiveToEnd() == Array("answer".utf8))
        #expect(try running.join().get() == .endOfInput(.a))
    }

    @Test func endOfInputWithoutAnAnswerEndsWithinTheGrace() throws {
        var options = RelayOptions()
        options.closeGrace = 0.3
        let t = try ClientRelay(options: options)
        defer { t.close() }
        let start = Clock.monotonic()
        let running = runRelay(t.relay)
        t.plain.shutdownWrite()
        #expect(try running.join().get() == .endOfInput(.a))
        let elapsed = Clock.monotonic() - start
        #expect(elapsed >= 0.25 && elapsed < 2)
    }

    @Test func protocolErrorClosesWithItsCode() throws {
        let t = try ClientRelay()
        defer { t.close() }
        let running = runRelay(t.relay)
        t.server.sendFrame(.binary, [1, 2, 3], masked: true)  // servers must not mask
        let (close, payload) = try t.server.frame(expectMasked: true)
        #expect(close.opcode == .close)
        #expect(Array(payload.prefix(2)) == [0x03, 0xEA])  // 1002
        #expect(try t.plain.receiveToEnd().isEmpty)
        switch running.join() {
        case .failure(let error):
            guard case .protocolViolation = error.reason else { Issue.record("wrong reason: \(error)"); return }
            #expect(error.side == .b)
            #expect(error.description.contains("server: WebSocket protocol error"))
        case .success(let outcome):
            Issue.record("expected a protocol error, got \(outcome)")
        }
    }

    @Test func lostConnectionIsAnError() throws {
        let t = try ClientRelay()
        defer { t.close() }
        let running = runRelay(t.relay)
        t.server.shutdownWrite()
        #expect(try t.plain.receiveToEnd().isEmpty)
        guard case .failure(let error) = running.join(), case .connectionLost = error.reason else {
            Issue.record("expected connectionLost"); return
        }
        #expect(error.description == "server: connection closed without a WebSocket close frame")
    }

    @Test func backpressureWithASlowReaderLosesNothing() throws {
        var options = quickOptions()
        options.bufferSize = 64 * 1024
        let t = try ClientRelay(options: options)
        defer { t.close() }
        let running = runRelay(t.relay)
        let down = randomBytes(4 << 20)
        // The server writes on its own thread (it would block: the reader is slow).
        nonisolated(unsafe) let server = t.server
        let writer = Background { () -> Bool in
            var offset = 0
            while offset < down.count {
                let size = min(100_000, down.count - offset)
                server.sendFrame(.binary, Array(down[offset..<offset + size]), masked: false)
                offset += size
            }
            return true
        }
        var received: [UInt8] = []
        var reads = 0
        while received.count < down.count {
            received += try t.plain.receive(min(32 * 1024, down.count - received.count))
            reads += 1
            if reads % 16 == 0 { usleep(2_000) }
        }
        _ = writer.join()
        #expect(received == down)
        t.stop()
        _ = try? running.join().get()
    }

    @Test func slowReaderGetsEverythingAfterTheClose() throws {
        var options = RelayOptions()
        options.closeGrace = 0.3
        options.bufferSize = 64 * 1024
        let t = try ClientRelay(options: options)
        defer { t.close() }
        let running = runRelay(t.relay)
        let down = randomBytes(3 << 20)
        nonisolated(unsafe) let server = t.server
        let writer = Background { () -> Bool in
            server.sendFrame(.binary, down, masked: false)
            server.sendFrame(.close, [0x03, 0xE8], masked: false)
            return true
        }
        // About 1.5 s of reading: far longer than the grace, but never stalled that long.
        var received: [UInt8] = []
        while received.count < down.count {
            received += try t.plain.receive(min(64 * 1024, down.count - received.count))
            usleep(30_000)
        }
        _ = writer.join()
        #expect(received == down)
        #expect(try t.plain.receiveToEnd().isEmpty)
        #expect(try running.join().get() == .closed(by: .b, code: 1000, reason: ""))
    }

    @Test func sixteenMiBBothWaysByteExact() throws {
        let t = try ClientRelay()
        defer { t.close() }
        let running = runRelay(t.relay)
        let up = randomBytes(16 << 20), down = randomBytes(16 << 20)
        nonisolated(unsafe) let plain = t.plain, server = t.server
        let upWriter = Background { () -> Bool in plain.send(up); return true }
        let downWriter = Background { () -> Bool in
            var offset = 0
            while offset < down.count {
                let size = min(1 << 20, down.count - offset)
                server.sendFrame(.binary, Array(down[offset..<offset + size]), masked: false)
                offset += size
            }
            return true
        }
        let upReader = Background { () -> [UInt8] in (try? server.data(up.count, expectMasked: true).bytes) ?? [] }
        let downGot = try t.plain.receive(down.count)
        _ = upWriter.join(); _ = downWriter.join()
        #expect(upReader.join() == up)
        #expect(downGot == down)
        t.stop()
        _ = try? running.join().get()
    }

    @Test func silentPeerIsPingedThenDeclaredDead() throws {
        var options = quickOptions()
        options.pingInterval = 0.2
        options.idleTimeout = 0.6
        let t = try ClientRelay(options: options)
        defer { t.close() }
        let running = runRelay(t.relay)
        let (ping, _) = try t.server.frame(expectMasked: true)
        #expect(ping.opcode == .ping)
        guard case .failure(let error) = running.join(), case .silent = error.reason else {
            Issue.record("expected a silence error"); return
        }
        #expect(error.side == .b)
    }

    @Test func pongKeepsAPeerAlive() throws {
        var options = quickOptions()
        options.pingInterval = 0.1
        options.idleTimeout = 0.35
        let t = try ClientRelay(options: options)
        defer { t.close() }
        let running = runRelay(t.relay)
        let until = Clock.monotonic() + 1
        var pings = 0
        while Clock.monotonic() < until {
            let (frame, payload) = try t.server.frame(expectMasked: true)
            #expect(frame.opcode == .ping)
            pings += 1
            t.server.sendFrame(.pong, payload, masked: false)
        }
        #expect(pings >= 5)
        t.stop()
        #expect(try running.join().get() == .stopped)
    }

    @Test func pendingBytesAndInjectedTextComeFirst() throws {
        // A frame (and half of the next one) already read past the HTTP head.
        let first = WebSocketFrameHeader.frame(.binary, payload: Array("early ".utf8))
        let second = WebSocketFrameHeader.frame(.binary, payload: Array("bird".utf8))
        let t = try ClientRelay(pending: first + second.prefix(3))
        defer { t.close() }
        t.relay.sendText("session client=192.0.2.1:5000", to: .b)
        let running = runRelay(t.relay)
        let (text, payload) = try t.server.frame(expectMasked: true)
        #expect(text.opcode == .text)
        #expect(payload == Array("session client=192.0.2.1:5000".utf8))
        t.server.send(Array(second.dropFirst(3)))
        #expect(try t.plain.receive(10) == Array("early bird".utf8))
        t.stop()
        _ = try? running.join().get()
    }

    @Test func stopFromATickClosesBothEnds() throws {
        let t = try ClientRelay()
        defer { t.close() }
        let relay = t.relay
        var ticks = 0
        relay.onTick(every: 0.05) {
            ticks += 1
            if ticks == 3 { relay.stop(code: 1001, reason: "expired") }
        }
        let running = runRelay(relay)
        let (close, payload) = try t.server.frame(expectMasked: true)
        #expect(close.opcode == .close)
        #expect(payload == WebSocketFrameHeader.closePayload(code: 1001, reason: "expired"))
        #expect(try t.plain.receiveToEnd().isEmpty)
        #expect(try running.join().get() == .stopped)
    }

    @Test func watchedDescriptorCallsBack() throws {
        let t = try ClientRelay()
        defer { t.close() }
        let (mine, theirs) = try Socket.pair()
        defer { Glibc.close(mine.rawValue); Glibc.close(theirs.rawValue) }
        let relay = t.relay
        relay.watch(mine) { events in
            var byte: UInt8 = 0
            _ = read(mine.rawValue, &byte, 1)
            relay.stop(reason: "told to")
        }
        let running = runRelay(relay)
        var byte: UInt8 = 1
        _ = write(theirs.rawValue, &byte, 1)
        #expect(try running.join().get() == .stopped)
    }

    /// The server's splice worker: client leg (masked in, unmasked out) ⇄ agent leg (unmasked).
    @Test func webSocketToWebSocketReframes() throws {
        let (clientStream, client) = try pair()
        let (agentStream, agent) = try pair()
        defer { clientStream.close(); agentStream.close(); client.close(); agent.close() }
        let relay = Relay(.webSocket(clientStream, name: "client", masksOutgoing: false, incoming: .required),
                          .webSocket(agentStream, name: "agent", masksOutgoing: false, incoming: .forbidden),
                          options: quickOptions())
        relay.sendText("session", to: .b)
        let running = runRelay(relay)
        #expect(try agent.frame(expectMasked: false).1 == Array("session".utf8))
        let up = randomBytes(300_000)
        client.sendFrame(.binary, Array(up[..<1000]), masked: true)
        client.sendFrame(.binary, Array(up[1000...]), masked: true)
        #expect(try agent.data(up.count, expectMasked: false).bytes == up)
        let down = randomBytes(50_000)
        agent.sendFrame(.binary, down, masked: false)
        #expect(try client.data(down.count, expectMasked: false).bytes == down)
        client.sendFrame(.close, [0x03, 0xE8], masked: true)
        #expect(try client.frame(expectMasked: false).0.opcode == .close)
        let (close, payload) = try agent.frame(expectMasked: false)
        #expect(close.opcode == .close)
        #expect(payload == [0x03, 0xE8])
        #expect(try running.join().get() == .closed(by: .a, code: 1000, reason: ""))
    }

    @Test func unmaskedFrameFromAClientIsRefused() throws {
        let (clientStream, client) = try pair()
        let (agentStream, agent) = try pair()
        defer { clientStream.close(); agentStream.close(); client.close(); agent.close() }
        let relay = Relay(.webSocket(clientStream, name: "client", masksOutgoing: false, incoming: .required),
                          .webSocket(agentStream, name: "agent", masksOutgoing: false, incoming: .forbidden),
                          options: quickOptions())
        let running = runRelay(relay)
        client.sendFrame(.binary, [1], masked: false)
        #expect(try client.frame().1.prefix(2) == [0x03, 0xEA])
        #expect(try agent.frame().0.opcode == .close)
        guard case .failure(let error) = running.join() else { Issue.record("expected failure"); return }
        #expect(error.side == .a)
    }

    /// The worker's case of a silent network cut: the agent leg says nothing while the
    /// client leg answers every ping. The pings queued for the client must not count as
    /// backpressure on the agent leg (they once reset its silence at every ping, forever).
    @Test func silentEndIsDeadWhileTheOtherAnswersPings() throws {
        let (clientStream, client) = try pair()
        let (agentStream, agent) = try pair()
        defer { clientStream.close(); agentStream.close(); agent.close() }
        var options = quickOptions()
        options.pingInterval = 0.2
        options.idleTimeout = 0.8
        let relay = Relay(.webSocket(clientStream, name: "client", masksOutgoing: false, incoming: .required),
                          .webSocket(agentStream, name: "agent", masksOutgoing: false, incoming: .forbidden),
                          options: options)
        let started = Clock.monotonic()
        let running = runRelay(relay)
        // The client answers pings until the relay closes it, for at most 4 s.
        while Clock.monotonic() < started + 4 {
            guard let (frame, payload) = try? client.frame(expectMasked: false, timeout: 0.5) else { continue }
            if frame.opcode == .close { break }
            if frame.opcode == .ping { client.sendFrame(.pong, payload, masked: true) }
        }
        client.close()  // ends the relay either way, so a failure cannot hang the suite
        guard case .failure(let error) = running.join(), case .silent = error.reason else {
            Issue.record("expected a silence error"); return
        }
        #expect(error.side == .b)
        #expect(Clock.monotonic() - started < 2.5)
    }
}
