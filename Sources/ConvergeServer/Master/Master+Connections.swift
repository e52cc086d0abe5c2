import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// One connection, served by its state: reading what it sends, answering or refusing it,
/// and closing it (the tables and the registry forget it at the same time).
extension Master {
    func serve(_ c: Connection, ready: Readiness, now: Double) {
        if ready.writable, case .responding = c.state {
            flush(c)
            return
        }
        if ready.writable, case .streaming = c.state { return writeStream(c, now: now) }
        guard ready.readable else { return }
        switch c.state {
        case .readingHead:
            guard readMore(c, now: now) else { return drop(c, now: now) }
            readHead(c, now: now)
        case .offered:
            guard readMore(c, now: now) else {
                log.write("\(c.peer) agent id=\(idText(c)) went away while waiting")
                return drop(c, now: now)
            }
            readAgentFrames(c, now: now)
        case .waitingClient(let id, _):
            guard readMore(c, now: now) else {
                log.write("\(c.peer) client id=\(LogText.escaped(id)) gave up waiting")
                return drop(c, now: now)
            }
        case .streaming:
            // An open page sends nothing more; EOF is the reader leaving.
            guard readMore(c, now: now) else { return drop(c, now: now) }
            c.inbox.removeAll()
        case .responding:
            // Nothing more is read from a connection being answered; EOF just ends it.
            var scratch = [UInt8](repeating: 0, count: 4096)
            if (try? scratch.withUnsafeMutableBytes { try c.fd.read(into: $0) }) == 0 { drop(c, now: now) }
        }
    }

    /// Reads what is there into the inbox; false on EOF or error.
    func readMore(_ c: Connection, now: Double) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16384)
        let n: Int
        do { n = try buffer.withUnsafeMutableBytes { try c.fd.read(into: $0) } } catch {
            return error as? Errno == .wouldBlock  // a wake-up with nothing to read
        }
        if n == 0 { return false }
        c.inbox += buffer[0..<n]
        c.lastHeard = now
        return true
    }

    /// Answers `status` with `message` (which names the limit, when one refused), logs it
    /// and counts it under `limit`.
    func refuse(_ c: Connection, _ status: Int, _ message: String, limit: Limit, now: Double) {
        metrics.refuse(limit)
        log.write("\(c.peer) refused \(status): \(message)")
        respond(c, Responses.text(status, message), now: now)
    }

    func respond(_ c: Connection, _ bytes: [UInt8], file: Connection.FileSend? = nil, now: Double) {
        c.state = .responding(file: file)
        c.outbox = bytes
        c.outboxSent = 0
        flush(c)
    }

    /// Writes as much of the answer (and file) as the socket takes; closes when all is out.
    func flush(_ c: Connection) {
        guard case .responding(var file) = c.state else { return }
        while c.outboxSent < c.outbox.count {
            let sent = c.outboxSent
            let n: Int
            do { n = try c.outbox.withUnsafeBytes { try c.fd.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) } } catch {
                if error as? Errno == .wouldBlock { return loop.watch(c.fd, writable: true) }
                return drop(c, now: Clock.monotonic())
            }
            if n == 0 { return drop(c, now: Clock.monotonic()) }
            c.outboxSent += n
        }
        if var send = file {
            while send.offset < send.size {
                var offset = off_t(send.offset)
                let n = sendfile(c.fd.rawValue, send.fd.rawValue, &offset, send.size - send.offset)
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EAGAIN {
                    file = send
                    c.state = .responding(file: file)
                    return loop.watch(c.fd, writable: true)
                }
                if n <= 0 { return drop(c, now: Clock.monotonic()) }
                send.offset += n
                c.state = .responding(file: send)
            }
        }
        // Half-close so the client reads everything before it sees the end.
        shutdown(c.fd.rawValue, Int32(SHUT_WR))
        drop(c, now: Clock.monotonic())
    }

    /// Writes a small message at once (101s, pongs); false if the socket would not take it all.
    func sendNow(_ c: Connection, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(c.fd.rawValue, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// Closes a connection and forgets everything about it.
    func drop(_ c: Connection, now: Double) {
        forget(c, now: now)
        try? c.fd.close()
    }

    /// Removes a connection from the loop, the tables and the registry, without closing it.
    func forget(_ c: Connection, now: Double = Clock.monotonic()) {
        loop.unwatch(c.fd)
        connections[c.fd] = nil
        if case .responding(let file?) = c.state { try? file.fd.close() }
        switch c.state {
        case .offered(let id, _, _): registry.withdrawOffer(id: id, connection: c.number, now: now)
        case .waitingClient(let id, _): registry.withdrawClient(id: id, connection: c.number, now: now)
        default: break
        }
        eventStreams.remove(c.fd)
        noteForgottenIDs()
        c.state = .readingHead
        if let address = c.address { connectionsPerAddress.closed(address) }
        c.address = nil
    }

    /// The connection the registry knows by `number`.
    func connection(_ number: Registry.Connection) -> Connection? {
        connections[FileDescriptor(rawValue: Int32(number))]
    }

    func idText(_ c: Connection) -> String {
        if case .offered(let id, _, _) = c.state { return LogText.escaped(id) }
        return "-"
    }
}
