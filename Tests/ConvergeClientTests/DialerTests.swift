@testable import ConvergeClient
import ConvergeNet
import ConvergeTestSupport
import ConvergeWire
import Glibc
import Testing

/// A one-shot fake server on a loopback port: reads one HTTP head, lets `answer` reply.
func fakeServer(_ answer: @escaping (_ fd: Int32, _ head: String) -> Void) throws -> (port: Int, done: Background<Bool>) {
    let listener = try TCPListener(host: "127.0.0.1", port: 0)
    let port = listener.address.port
    let done = Background { () -> Bool in
        defer { listener.close() }
        guard (try? Poll.wait(listener.fd, for: Int16(POLLIN), until: Clock.monotonic() + 10)) ?? 0 != 0,
              let (fd, _) = (try? listener.accept()) ?? nil else { return false }
        _ = try? Socket.setNonBlocking(fd, false)
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !(head.count >= 4 && head.suffix(4) == [13, 10, 13, 10]) {
            guard read(fd.rawValue, &byte, 1) == 1 else { close(fd.rawValue); return false }
            head.append(byte)
        }
        answer(fd.rawValue, String(decoding: head, as: UTF8.self))
        close(fd.rawValue)
        return true
    }
    return (port, done)
}

func writeText(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}

func acceptKey(_ head: String) -> String {
    let line = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }!
    return String(line.split(separator: ":", maxSplits: 1)[1].drop { $0 == " " })
}

@Suite struct DialerTests {
    let noProxy = ProxySettings()

    @Test func notFoundUsesTheServersLine() throws {
        let body = "no agent is connected under ID \"abc\"\n"
        let (port, done) = try fakeServer { fd, _ in
            writeText(fd, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        }
        let url = try ServerURL(parsing: "ws://127.0.0.1:\(port)/client/abc")
        do {
            _ = try WebSocketDialer(url: url, proxies: noProxy).dial()
            Issue.record("expected a refusal")
        } catch {
            #expect(error.status == 404)
            #expect(error.description == "no agent is connected under ID \"abc\" (404 from server)")
        }
        #expect(done.join())
    }

    @Test func refusalWithANegativeContentLength() throws {
        // Found by Fuzz/fuzz-http-response: the body was cut to a negative length (a trap).
        let (port, done) = try fakeServer { fd, _ in
            writeText(fd, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: -1\r\n\r\ngone\n")
        }
        let url = try ServerURL(parsing: "ws://127.0.0.1:\(port)/client/abc")
        #expect(throws: DialError.self) { try WebSocketDialer(url: url, proxies: noProxy).dial() }
        #expect(done.join())
    }

    @Test func refusalMessagesWithoutABody() throws {
        let url = try ServerURL(parsing: "ws://h/client/x%y")
        #expect(RefusalMessage.text(status: 404, reason: "Not Found", body: [], contentType: nil, url: url)
                == "no agent is connected under ID \"x%y\" (404 from server)")
        #expect(RefusalMessage.text(status: 409, reason: "Conflict", body: Array("ID \"x\" is in use by another agent\nmore".utf8), contentType: "text/plain; charset=utf-8", url: url)
                == "ID \"x\" is in use by another agent (409 from server)")
        #expect(RefusalMessage.text(status: 503, reason: "Service Unavailable", body: Array("<html>".utf8), contentType: "text/html", url: url)
                == "server answered 503 Service Unavailable")
        #expect(RefusalMessage.text(status: 503, reason: "Service Unavailable", body: Array("too many agents waiting".utf8), contentType: nil, url: url)
                == "server answered 503 Service Unavailable: too many agents waiting")
    }

    @Test func upgradeKeepsHeadersAndBytesAfterTheHead() throws {
        let (port, done) = try fakeServer { fd, head in
            #expect(head.hasPrefix("GET /agent/abc HTTP/1.1\r\n"))
            #expect(head.contains("X-Converge-Agent-Key: k123\r\n"))
            let accept = WebSocketHandshake.acceptValue(forKey: acceptKey(head))
            let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\nX-Converge-User: alice\r\n\r\n"
            // The session frame right behind the head, in the same write.
            var bytes = Array(response.utf8) + WebSocketFrameHeader.frame(.ping, payload: [7])
            bytes += WebSocketFrameHeader.frame(.text, payload: Array("session client=192.0.2.1:1".utf8))
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            // The agent's pong comes back unmasked.
            var reply = [UInt8](repeating: 0, count: 3)
            _ = reply.withUnsafeMutableBytes { read(fd, $0.baseAddress, 3) }
            #expect(reply == [0x8A, 0x01, 7])
        }
        var dialer = WebSocketDialer(url: try ServerURL(parsing: "ws://127.0.0.1:\(port)/agent/abc"), proxies: noProxy,
                                     headers: [("X-Converge-Agent-Key", "k123")])
        dialer.masksOutgoing = false
        let connection = try dialer.dial()
        defer { connection.stream.close() }
        #expect(connection.response.headers["X-Converge-User"] == "alice")
        let message = try #require(try connection.receive(until: Clock.monotonic() + 5))
        #expect(message.opcode == .text)
        #expect(message.text == "session client=192.0.2.1:1")
        #expect(done.join())
    }

    @Test func frameLongerThanAnyMessageIsAProtocolError() throws {
        // Found by Fuzz/fuzz-websocket: a 2^63-1 byte length overflowed header + payload (a trap).
        let (port, done) = try fakeServer { fd, head in
            let accept = WebSocketHandshake.acceptValue(forKey: acceptKey(head))
            writeText(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n\r\n")
            let header: [UInt8] = [0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
            _ = header.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            var close = [UInt8](repeating: 0, count: 2)
            _ = close.withUnsafeMutableBytes { read(fd, $0.baseAddress, 2) }
            #expect(close[0] == 0x88)  // the client answers with a close frame
        }
        let connection = try WebSocketDialer(url: try ServerURL(parsing: "ws://127.0.0.1:\(port)/client/abc"), proxies: noProxy).dial()
        defer { connection.stream.close() }
        #expect(throws: NetError.self) { try connection.receive(until: Clock.monotonic() + 5) }
        #expect(done.join())
    }

    @Test func connectProxyTunnel() throws {
        let (port, done) = try fakeServer { fd, head in
            #expect(head.hasPrefix("CONNECT agents.example.invalid:80 HTTP/1.1\r\nHost: agents.example.invalid:80\r\n"))
            writeText(fd, "HTTP/1.1 200 Connection established\r\n\r\n")
            // Then play the server at the end of the tunnel.
            var request: [UInt8] = []
            var byte: UInt8 = 0
            while !(request.count >= 4 && request.suffix(4) == [13, 10, 13, 10]) {
                guard read(fd, &byte, 1) == 1 else { return }
                request.append(byte)
            }
            let text = String(decoding: request, as: UTF8.self)
            #expect(text.hasPrefix("GET /client/x HTTP/1.1\r\nHost: agents.example.invalid\r\n"))
            writeText(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        }
        let proxies = ProxySettings(httpProxy: "http://127.0.0.1:\(port)")
        let url = try ServerURL(parsing: "ws://agents.example.invalid/client/x")
        do {
            _ = try WebSocketDialer(url: url, proxies: proxies).dial()
            Issue.record("expected a 404")
        } catch {
            #expect(error.description == "no agent is connected under ID \"x\" (404 from server)")
        }
        #expect(done.join())
    }

    @Test func proxyRefusalIsOneLine() throws {
        let (port, done) = try fakeServer { fd, _ in
            writeText(fd, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        }
        let proxies = ProxySettings(httpsProxy: "127.0.0.1:\(port)")
        let url = try ServerURL(parsing: "wss://agents.example.invalid/client/x")
        do {
            _ = try WebSocketDialer(url: url, proxies: proxies).dial()
            Issue.record("expected a refusal")
        } catch {
            #expect(error.description == "proxy 127.0.0.1:\(port) refused CONNECT to agents.example.invalid:443: 403 Forbidden")
        }
        #expect(done.join())
    }

    @Test func connectionRefusedNamesHostAndPort() throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let port = listener.address.port
        listener.close()
        let url = try ServerURL(parsing: "ws://127.0.0.1:\(port)/client/x")
        do {
            _ = try WebSocketDialer(url: url, proxies: noProxy).dial()
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "cannot connect to 127.0.0.1:\(port): Connection refused")
            #expect(error.kind == .network(.connect))
        }
    }

    @Test func listenerOnIPv6Loopback() throws {
        let listener = try TCPListener(host: "::1", port: 0)
        defer { listener.close() }
        #expect(listener.address.description.hasPrefix("[::1]:"))
        let fd = try TCP.connect(host: "::1", port: listener.address.port, timeout: 5)
        close(fd.rawValue)
    }
}
