import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// Pumps bytes between a plain end and a WebSocket until the session ends: wsproxy
/// (stdio ⇄ server), tcptows (TCP ⇄ server) and the agent (its SSH socketpair ⇄ the
/// client, through the server) are all one `Relay`. The server's worker forwards frames
/// without reading them (`SpliceTunnel`).
///
/// ```swift
/// let relay = Relay(.plain(FileStream(read: 0, write: 1), name: "stdio"),
///                   connection.relayEnd(name: "server"))
/// let outcome = try relay.run()    // RelayOutcome, or RelayError with one line
/// ```
///
/// The rules, and why:
/// - One thread, one poll loop, non-blocking descriptors: the server and the agent fork
///   after using this, and only a single-threaded process may fork without exec.
/// - Each direction owns one large buffer (`bufferSize`, 256 KiB) with room in front for
///   a frame header: bytes read from a plain end become one binary frame written with one
///   `write`/`SSL_write` from that same buffer; frames read from a WebSocket end are
///   unmasked and compacted in place. No allocation and few syscalls per frame.
/// - Backpressure: a direction reads again only when its previous output was fully
///   written, so a slow reader slows the writer instead of growing memory.
/// - Control frames (pong, ping, close, an injected text frame) wait in a small queue per
///   end and go out between data frames, never inside one.
/// - Outgoing frames are masked with a fresh random key per frame when that end is a
///   client (RFC 6455 §5.3); incoming masking is checked by `WebSocketDecoder`.
/// - Pings are answered. An end not heard from for `pingInterval` (20 s) gets a ping, so
///   proxies see traffic; one silent for `idleTimeout` (60 s) is dead. Time spent not
///   reading an end (backpressure) does not count as its silence.
/// - A close frame from one end is answered and passed on to the other (a plain end gets
///   end-of-file); end of file on a plain end sends a close frame and waits up to
///   `closeGrace` (2 s) for the answer, still relaying what arrives meanwhile.
/// - A protocol error sends a close frame with the error's code and ends with that error.
/// - Every ending is bounded: after `closeGrace` no more is read, and queued output that
///   makes no progress for another `closeGrace` is dropped, so a dead peer never keeps a
///   process alive, while a slow but live reader still gets every byte.
///
/// The relay never closes its streams; the caller does, after `run` returns. Call
/// `Socket.ignoreBrokenPipeSignal()` first in the process.
public final class Relay {
    /// Room before a payload for the largest frame header (14 bytes), kept aligned.
    static let headroom = 16
    /// Room for bytes of an incomplete frame header or control frame (at most 139).
    static let carryRoom = 256

    private let ends: [RelayEndState]
    /// flows[0] carries a → b, flows[1] carries b → a: flows[i] reads ends[i].
    private let flows: [RelayFlow]
    private let options: RelayOptions
    private var keys = MaskKeys()
    private var result: Result<RelayOutcome, RelayError>? = nil
    /// Set at the first ending: until then we wait for the peer's close frame.
    private var graceDeadline: Double? = nil
    /// When the loop last woke: reads stamp `lastHeard` with it (one clock read per
    /// wake-up, not per read; the reads follow the wake-up within microseconds).
    private var wokeAt = 0.0
    /// Set when the grace is over: reading stops, queued output gets `closeGrace` more
    /// for each write that makes progress.
    private var drainDeadline: Double? = nil

    private var watched: (fd: FileDescriptor, events: Int16, handler: (Int16) -> Void)? = nil
    private var tick: (interval: Double, next: Double, handler: () -> Void)? = nil
    private var pollSet: [pollfd] = []

    public init(_ a: RelayEnd, _ b: RelayEnd, options: RelayOptions = RelayOptions()) {
        precondition(options.bufferSize >= 1024, "Relay: bufferSize must be at least 1 KiB")
        self.options = options
        ends = [RelayEndState(a, options: options), RelayEndState(b, options: options)]
        let capacity = Relay.headroom + Relay.carryRoom + options.bufferSize
        flows = [RelayFlow(capacity: capacity), RelayFlow(capacity: capacity)]
    }

    // MARK: Hooks for the tests (internal: reached with @testable import)

    /// Payload bytes forwarded from a to b, and from b to a, so far.
    var bytesAToB: UInt64 { flows[0].forwarded }
    var bytesBToA: UInt64 { flows[1].forwarded }

    /// Queues a text frame to a WebSocket end, ahead of any data not yet framed. (The
    /// server's `session` frame is written by its splice worker before it splices, not
    /// through a relay: the tests play that part with this.)
    func sendText(_ text: String, to side: RelaySide) {
        let end = ends[index(side)]
        precondition(end.isWebSocket, "Relay.sendText: end \(end.name) is not a WebSocket")
        queueFrame(end, .text, Array(text.utf8))
    }

    /// Watches one more descriptor (a control socket): `handler` gets poll's revents.
    /// It may call `stop`, `sendText`, or read the byte counts.
    func watch(_ fd: FileDescriptor, events: Int16 = Int16(POLLIN), _ handler: @escaping (Int16) -> Void) {
        watched = (fd, events, handler)
    }

    /// Calls `handler` about every `interval` seconds while running.
    func onTick(every interval: Double, _ handler: @escaping () -> Void) {
        tick = (interval, Clock.monotonic() + interval, handler)
    }

    /// The close frame sent to the WebSocket end when the plain end ends (by default
    /// 1000 with no reason); asked at that moment, so it may read why from elsewhere.
    public var closeAtEndOfInput: (() -> (code: UInt16, reason: String)?)?

    /// Ends the relay: a close frame (`code`, `reason`) to each WebSocket end, end of file
    /// to each plain end, then `run` returns `.stopped` once that is flushed.
    func stop(code: UInt16 = WebSocketCloseCode.normal, reason: String = "") {
        for end in ends {
            end.stopReading()
            endOutput(end, WebSocketFrameHeader.closePayload(code: code, reason: reason))
        }
        settle(.success(.stopped))
    }

    // MARK: The loop

    /// Relays until the session ends. Returns how it ended normally, or throws a
    /// `RelayError` (protocol error, silence, lost connection) after closing the other end.
    public func run() throws(RelayError) -> RelayOutcome {
        let start = Clock.monotonic()
        for end in ends {
            end.lastHeard = start
            end.lastPing = start
        }
        while true {
            let now = Clock.monotonic()
            wokeAt = now
            checkTimers(now)
            pump(0)
            pump(1)
            if isFinished(now) { break }
            waitForEvents(now: Clock.monotonic())
        }
        switch result {
        case .failure(let error): throw error
        case .success(let outcome): return outcome
        case nil: return .stopped
        }
    }

    /// Moves bytes from ends[i] to its other end until it blocks (or a fairness limit:
    /// one busy direction must not starve the other).
    private func pump(_ i: Int) {
        let source = ends[i]
        for _ in 0..<8 {
            guard flush(1 - i) else { return }
            guard canRead(i), source.input == .open(.now) else { return }
            readOnce(i)
        }
        flush(1 - i)
    }

    /// Reading ends[i] is allowed only when everything already taken from it was written
    /// out (backpressure) and no control frame is half-way out on the destination.
    private func canRead(_ i: Int) -> Bool {
        let source = ends[i], destination = ends[1 - i]
        return source.isReading && !flows[i].hasOutput && !destination.hasControl
    }

    private func readOnce(_ i: Int) {
        let source = ends[i], flow = flows[i]
        let base = flow.buffer.baseAddress!
        // An incomplete frame head left from the last read moves to the front first.
        let carried = flow.carryEnd - flow.carryStart
        if carried > 0 && flow.carryStart != Relay.headroom {
            memmove(base + Relay.headroom, base + flow.carryStart, carried)
        }
        flow.carryStart = Relay.headroom
        flow.carryEnd = Relay.headroom + carried
        let readAt = Relay.headroom + carried
        let room = UnsafeMutableRawBufferPointer(rebasing: flow.buffer[readAt..<readAt + options.bufferSize])
        var count: Int
        if source.pendingOffset < source.pending.count {
            count = min(room.count, source.pending.count - source.pendingOffset)
            source.pending.withUnsafeBytes { room.baseAddress!.copyMemory(from: $0.baseAddress! + source.pendingOffset, byteCount: count) }
            source.pendingOffset += count
            if source.pendingOffset == source.pending.count { source.pending = [] ; source.pendingOffset = 0 }
        } else {
            do {
                switch try source.stream.read(into: room) {
                case .bytes(let n):
                    count = n
                    // A short read drained the descriptor: wait for poll before the next.
                    if n < room.count && !source.stream.hasBufferedInput { source.input = .open(.whenReadable) }
                case .wouldBlock(let readable):
                    source.input = .open(readable ? .whenReadable : .whenWritable)
                    return
                case .end:
                    sourceEnded(i, error: nil)
                    return
                }
            } catch {
                sourceEnded(i, error: error)
                return
            }
        }
        source.lastHeard = wokeAt
        process(i, total: carried + count)
    }

    /// Turns `total` bytes at the front of flows[i]'s buffer into output for the other end.
    private func process(_ i: Int, total: Int) {
        let source = ends[i], destination = ends[1 - i], flow = flows[i]
        let base = flow.buffer.baseAddress!
        var payloadStart = Relay.headroom
        var payloadLength = 0
        var closePayload: [UInt8]? = nil
        if !source.isWebSocket {
            payloadLength = total
            flow.carryStart = Relay.headroom
            flow.carryEnd = Relay.headroom
        } else {
            let region = UnsafeMutableRawBufferPointer(rebasing: flow.buffer[Relay.headroom..<Relay.headroom + total])
            flow.events.removeAll(keepingCapacity: true)
            let used: Int
            do {
                used = try source.decoder.decode(region, into: &flow.events)
            } catch {
                protocolError(i, error)
                return
            }
            flow.carryStart = Relay.headroom + used
            flow.carryEnd = Relay.headroom + total
            // Data payloads are unmasked in place; slide them together behind the first.
            var first = true
            for event in flow.events {
                switch event {
                case .data(let range):
                    let start = Relay.headroom + range.lowerBound
                    if first {
                        payloadStart = start
                        first = false
                    } else if start != payloadStart + payloadLength {
                        memmove(base + payloadStart + payloadLength, base + start, range.count)
                    }
                    payloadLength += range.count
                case .control(.ping, let payload):
                    queueFrame(source, .pong, payload)
                case .control(.close, let payload):
                    closePayload = payload
                case .control:
                    break  // pong: hearing it was the point
                }
                if closePayload != nil { break }  // nothing may follow a close frame
            }
        }
        if payloadLength > 0 && destination.takesData {
            emit(flow, to: destination, payloadStart: payloadStart, length: payloadLength)
        }
        if let closePayload { closeReceived(i, closePayload) }
    }

    /// Frames the payload in place (header written into the room just before it).
    private func emit(_ flow: RelayFlow, to destination: RelayEndState, payloadStart: Int, length: Int) {
        if destination.isWebSocket {
            let header = WebSocketFrameHeader(opcode: .binary, maskKey: destination.masks ? keys.key() : nil,
                                              payloadLength: UInt64(length))
            let start = payloadStart - header.encodedLength
            header.encode(into: UnsafeMutableRawBufferPointer(rebasing: flow.buffer[start..<payloadStart]))
            if let key = header.maskKey {
                WebSocketMask.apply(key: key, phase: 0, to: UnsafeMutableRawBufferPointer(rebasing: flow.buffer[payloadStart..<payloadStart + length]))
            }
            flow.outStart = start
        } else {
            flow.outStart = payloadStart
        }
        flow.outEnd = payloadStart + length
        flow.forwarded += UInt64(length)
    }

    /// Writes what is queued for ends[d]: data first (it may be mid-frame), then control
    /// frames. Returns true when nothing is left queued.
    @discardableResult
    private func flush(_ d: Int) -> Bool {
        let end = ends[d], flow = flows[1 - d]
        if end.isBroken {
            flow.outStart = flow.outEnd
            end.control.removeAll()
            end.controlOffset = 0
            return true
        }
        while true {
            if end.writeReadiness != .now { return !flow.hasOutput && !end.hasControl }
            let outcome: StreamIO
            let isData = flow.hasOutput
            do {
                if isData {
                    outcome = try end.stream.write(UnsafeRawBufferPointer(rebasing: flow.buffer[flow.outStart..<flow.outEnd]))
                } else if end.hasControl {
                    let offset = end.controlOffset
                    outcome = try end.control.withUnsafeBytes { raw in
                        Result { () throws(NetError) in try end.stream.write(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
                    }.get()
                } else {
                    if !end.control.isEmpty {
                        end.control.removeAll(keepingCapacity: true)
                        end.controlOffset = 0
                    }
                    if end.shutdownPending {
                        end.output = .shut
                        end.stream.shutdownWrite()
                    }
                    return true
                }
            } catch {
                writeFailed(d, error)
                return true
            }
            switch outcome {
            case .bytes(let n):
                if isData { flow.outStart += n } else { end.controlOffset += n }
                // Draining: a reader that is slow but still taking bytes gets them all.
                if drainDeadline != nil { drainDeadline = Clock.monotonic() + options.closeGrace }
            case .wouldBlock(let readable):
                end.writeReadiness = readable ? .whenReadable : .whenWritable
                return false
            case .end:
                writeFailed(d, NetError(.io, "write: connection closed", code: EPIPE))
                return true
            }
        }
    }

    // MARK: Endings

    /// A close frame arrived from ends[i]: answer it, pass it on, stop reading both.
    private func closeReceived(_ i: Int, _ payload: [UInt8]) {
        let source = ends[i], destination = ends[1 - i]
        source.input = .closeReceived
        let code = payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
        let reason = payload.count > 2 ? LogText.escaped(payload[2...]) : ""
        let sendable = code.map(Relay.isSendableCloseCode) ?? false
        // RFC 6455 §5.5.1: answer with a close frame echoing the status code.
        queueFrame(source, .close, sendable ? Array(payload.prefix(2)) : [])
        endOutput(destination, sendable ? payload : code == nil ? [] : WebSocketFrameHeader.closePayload(code: WebSocketCloseCode.normal, reason: ""))
        destination.stopReading()
        settle(.success(.closed(by: side(i), code: code, reason: reason)))
    }

    /// End of file (or a read error) on ends[i].
    private func sourceEnded(_ i: Int, error: NetError?) {
        let source = ends[i], destination = ends[1 - i]
        let closedCleanly = source.output == .closing || source.input == .closeReceived
        source.stopReading()
        if !source.isWebSocket {
            // The plain side is done sending. Tell the other end, and keep relaying its
            // answer until its close frame (or closeGrace) so no reply is cut off.
            let close = closeAtEndOfInput?() ?? (WebSocketCloseCode.normal, "")
            endOutput(destination, WebSocketFrameHeader.closePayload(code: close.code, reason: close.reason))
            settle(.success(.endOfInput(side(i))))
            if !destination.isWebSocket { return }  // plain ⇄ plain: a half-close, no deadline
        } else {
            source.output = .broken
            if !closedCleanly {
                let reason: RelayError.Reason = error.map { .io($0) } ?? .connectionLost
                let text = error.map { "\(source.name): \($0.description)" }
                    ?? "\(source.name): connection closed without a WebSocket close frame"
                settle(.failure(RelayError(side: side(i), reason: reason, description: text)))
            }
            endOutput(destination, WebSocketFrameHeader.closePayload(code: WebSocketCloseCode.goingAway, reason: "peer went away"))
            destination.stopReading()
        }
        startGrace()
    }

    /// A write to ends[d] failed: nothing more can go there.
    private func writeFailed(_ d: Int, _ error: NetError) {
        let end = ends[d], other = ends[1 - d]
        end.output = .broken
        end.stopReading()
        if end.isWebSocket {
            settle(.failure(RelayError(side: side(d), reason: .io(error), description: "\(end.name): \(error.description)")))
            endOutput(other, WebSocketFrameHeader.closePayload(code: WebSocketCloseCode.goingAway, reason: "peer went away"))
        } else {
            // Whoever read this plain end went away (ssh exited): an ordinary ending.
            settle(.success(.endOfInput(side(d))))
            endOutput(other, WebSocketFrameHeader.closePayload(code: WebSocketCloseCode.normal, reason: ""))
        }
        other.stopReading()
        startGrace()
    }

    private func protocolError(_ i: Int, _ error: WebSocketError) {
        let source = ends[i], destination = ends[1 - i]
        source.stopReading()
        settle(.failure(RelayError(side: side(i), reason: .protocolViolation(error),
                                   description: "\(source.name): WebSocket protocol error: \(error.description)")))
        endOutput(source, WebSocketFrameHeader.closePayload(code: error.closeCode, reason: error.description))
        endOutput(destination, WebSocketFrameHeader.closePayload(code: WebSocketCloseCode.goingAway, reason: "peer went away"))
        destination.stopReading()
        startGrace()
    }

    private func silent(_ i: Int) {
        let end = ends[i], other = ends[1 - i]
        end.stopReading()
        settle(.failure(RelayError(side: side(i), reason: .silent,
                                   description: "\(end.name): nothing received for \(Int(options.idleTimeout)) s, connection considered dead")))
        endOutput(end, WebSocketFrameHeader.closePayload(code: WebSocketCloseCode.goingAway, reason: "idle timeout"))
        endOutput(other, WebSocketFrameHeader.closePayload(code: WebSocketCloseCode.goingAway, reason: "peer went away"))
        other.stopReading()
        startGrace()
    }

    /// No more data to `end`: a close frame for a WebSocket, end of file for a plain end
    /// (both after what is already queued).
    private func endOutput(_ end: RelayEndState, _ closePayload: [UInt8]) {
        guard !end.isBroken else { return }
        if end.isWebSocket {
            queueFrame(end, .close, closePayload)
        } else if end.output == .open {
            end.output = .closing
        }
        startGrace()
    }

    private func startGrace() {
        if graceDeadline == nil { graceDeadline = Clock.monotonic() + options.closeGrace }
    }

    /// The first ending decides the result.
    private func settle(_ outcome: Result<RelayOutcome, RelayError>) {
        if result == nil { result = outcome }
    }

    private func isFinished(_ now: Double) -> Bool {
        if let drainDeadline, now >= drainDeadline { return true }
        if drainDeadline == nil, let graceDeadline, now >= graceDeadline {
            for end in ends { end.stopReading() }  // no close frame came: stop waiting for it
            drainDeadline = now + options.closeGrace
        }
        for end in ends where end.isReading { return false }
        for (d, end) in ends.enumerated() where !end.isBroken {
            if flows[1 - d].hasOutput || end.hasControl || end.shutdownPending { return false }
        }
        return true
    }

    // MARK: Frames, timers, poll

    private func queueFrame(_ end: RelayEndState, _ opcode: WebSocketOpcode, _ payload: [UInt8]) {
        guard end.isWebSocket, end.output == .open else { return }
        end.control += WebSocketFrameHeader.frame(opcode, payload: payload, maskKey: end.masks ? keys.key() : nil)
        if opcode == .close { end.output = .closing }
    }

    private func checkTimers(_ now: Double) {
        if graceDeadline == nil {
            // Backpressure as it stands before this pass queues pings: a ping queued just
            // now for one end is not the other end's reader being blocked.
            let listening = [canRead(0), canRead(1)]
            for (i, end) in ends.enumerated() where end.isWebSocket && end.isReading {
                if !listening[i] {
                    end.lastHeard = now  // not listening (backpressure): silence proves nothing
                    continue
                }
                if now - end.lastHeard >= options.idleTimeout {
                    silent(i)
                } else if now - max(end.lastHeard, end.lastPing) >= options.pingInterval {
                    queueFrame(end, .ping, [])
                    end.lastPing = now
                }
            }
        }
        if let current = tick, now >= current.next {
            tick?.next = now + current.interval
            current.handler()
        }
    }

    private func waitForEvents(now: Double) {
        var deadline = now + 3600
        if let graceDeadline { deadline = min(deadline, drainDeadline ?? graceDeadline) }
        if let tick { deadline = min(deadline, tick.next) }
        pollSet.removeAll(keepingCapacity: true)
        var slots: [(read: Int, write: Int)] = [(-1, -1), (-1, -1)]
        for (i, end) in ends.enumerated() {
            let readable = canRead(i)
            if readable && end.input == .open(.now) { deadline = now }  // stopped by the fairness limit
            if readable && end.isWebSocket && graceDeadline == nil {
                deadline = min(deadline, end.lastHeard + options.idleTimeout,
                               max(end.lastHeard, end.lastPing) + options.pingInterval)
            }
            let queued = !end.isBroken && (flows[1 - i].hasOutput || end.hasControl)
            if queued && end.writeReadiness == .now { deadline = now }  // writable as far as we know
            let wantIn = (readable && end.input == .open(.whenReadable)) || (queued && end.writeReadiness == .whenReadable)
            let wantOut = (queued && end.writeReadiness == .whenWritable) || (readable && end.input == .open(.whenWritable))
            let readFD = end.stream.readFD.rawValue, writeFD = end.stream.writeFD.rawValue
            if readFD == writeFD {
                if wantIn || wantOut {
                    slots[i] = (pollSet.count, pollSet.count)
                    pollSet.append(pollfd(fd: readFD, events: Int16(wantIn ? POLLIN : 0) | Int16(wantOut ? POLLOUT : 0), revents: 0))
                }
            } else {
                if wantIn {
                    slots[i].read = pollSet.count
                    pollSet.append(pollfd(fd: readFD, events: Int16(POLLIN), revents: 0))
                }
                // A separate output (stdout) is always watched: POLLERR/POLLHUP there says
                // its reader went away (ssh exited) even while nothing is being written.
                if wantOut || (!end.isWebSocket && (end.output == .open || end.output == .closing)) {
                    slots[i].write = pollSet.count
                    pollSet.append(pollfd(fd: writeFD, events: Int16(wantOut ? POLLOUT : 0), revents: 0))
                }
            }
        }
        var watchSlot = -1
        if let watched {
            watchSlot = pollSet.count
            pollSet.append(pollfd(fd: watched.fd.rawValue, events: watched.events, revents: 0))
        }
        let rc = pollSet.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), Poll.milliseconds(until: deadline)) }
        guard rc > 0 else { return }  // timeout or EINTR: the loop re-checks everything
        let anyIn = Int16(POLLIN | POLLHUP | POLLERR), anyOut = Int16(POLLOUT | POLLHUP | POLLERR)
        for (i, end) in ends.enumerated() {
            if slots[i].read >= 0 && pollSet[slots[i].read].revents & anyIn != 0 {
                if end.writeReadiness == .whenReadable { end.writeReadiness = .now }
                if end.input == .open(.whenReadable) { end.input = .open(.now) }
            }
            if slots[i].write >= 0 && slots[i].write != slots[i].read && !end.isWebSocket
                && pollSet[slots[i].write].revents & Int16(POLLERR | POLLHUP) != 0 && !end.isBroken {
                writeFailed(i, NetError(.io, "output closed", code: EPIPE))
                continue
            }
            if slots[i].write >= 0 && pollSet[slots[i].write].revents & anyOut != 0 {
                if end.input == .open(.whenWritable) { end.input = .open(.now) }
                if end.writeReadiness == .whenWritable { end.writeReadiness = .now }
            }
        }
        if watchSlot >= 0, let watched, pollSet[watchSlot].revents != 0 {
            watched.handler(pollSet[watchSlot].revents)
        }
    }

    private func index(_ side: RelaySide) -> Int { side == .a ? 0 : 1 }
    private func side(_ i: Int) -> RelaySide { i == 0 ? .a : .b }

    /// Codes an endpoint may put in a close frame (RFC 6455 §7.4): not 1005, 1006, 1015.
    static func isSendableCloseCode(_ code: UInt16) -> Bool {
        (1000...1003).contains(code) || (1007...1014).contains(code) || (3000...4999).contains(code)
    }
}
