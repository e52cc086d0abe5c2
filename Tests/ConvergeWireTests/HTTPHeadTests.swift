import Testing
@testable import ConvergeWire

private func request(_ text: String, limit: Int = 8192) throws(HTTPError) -> (head: HTTPRequestHead, length: Int)? {
    try HTTPRequestHead.parse(Array(text.utf8), limit: limit)
}

private func requestError(_ bytes: [UInt8], limit: Int = 8192) -> HTTPError? {
    do {
        _ = try HTTPRequestHead.parse(bytes, limit: limit)
        return nil
    } catch {
        return error
    }
}

private func requestError(_ text: String, limit: Int = 8192) -> HTTPError? {
    requestError(Array(text.utf8), limit: limit)
}

private func responseError(_ text: String) -> HTTPError? {
    do {
        _ = try HTTPResponseHead.parse(Array(text.utf8))
        return nil
    } catch {
        return error
    }
}

@Suite struct HTTPRequestHeadTests {
    let upgrade = "GET /client/abc?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\n"
        + "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"

    @Test func parsesACRLFRequest() throws {
        let parsed = try #require(try request(upgrade))
        #expect(parsed.length == upgrade.utf8.count)
        #expect(parsed.head.method == "GET")
        #expect(parsed.head.target == "/client/abc?x=1")
        #expect(parsed.head.path == "/client/abc")
        #expect(parsed.head.version == "HTTP/1.1")
        #expect(parsed.head.headers.fields.count == 4)
        #expect(parsed.head.headers["host"] == "example.com:8080")
        #expect(parsed.head.headers["HOST"] == "example.com:8080")
        #expect(parsed.head.headers["sec-websocket-key"] == "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(parsed.head.headers["Missing"] == nil)
        #expect(parsed.head.headers.contains("connection", token: "UPGRADE"))
        #expect(parsed.head.headers.contains("Connection", token: "keep-alive"))
        #expect(!parsed.head.headers.contains("Connection", token: "close"))
        #expect(!parsed.head.headers.contains("Connection", token: "keep"))
        #expect(parsed.head.headers.contains("Upgrade", token: "WebSocket"))
    }

    @Test func parsesABareLFRequest() throws {
        let text = "GET / HTTP/1.1\nHost: a\nX-Empty:\n\n"
        let parsed = try #require(try request(text))
        #expect(parsed.length == text.utf8.count)
        #expect(parsed.head.headers.fields.count == 2)
        #expect(parsed.head.headers["host"] == "a")
        #expect(parsed.head.headers["x-empty"] == "")
    }

    @Test func everyValueOfARepeatedHeaderInOrder() throws {
        let parsed = try #require(try request("GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nHost: a\r\nx-forwarded-for:  2.2.2.2, 3.3.3.3 \r\n\r\n"))
        #expect(parsed.head.headers.values("X-Forwarded-For") == ["1.1.1.1", "2.2.2.2, 3.3.3.3"])
        #expect(parsed.head.headers.values("Missing") == [])
    }

    @Test func mixedLineEndingsEndTheHead() throws {
        // LF then CRLF, and CRLF then LF: both end a head.
        #expect(try request("GET / HTTP/1.1\r\nHost: a\n\r\n")?.head.headers["Host"] == "a")
        #expect(try request("GET / HTTP/1.1\r\nHost: a\r\n\n")?.head.headers["Host"] == "a")
    }

    @Test func requestWithoutHeaders() throws {
        let parsed = try #require(try request("GET /metrics HTTP/1.1\r\n\r\n"))
        #expect(parsed.head.headers.fields.isEmpty)
        #expect(parsed.head.path == "/metrics")
    }

    @Test func bytesAfterTheHeadAreNotConsumed() throws {
        let body: [UInt8] = [0x82, 0x80, 1, 2, 3, 4, 0x0D, 0x0A, 0x0D, 0x0A]
        let bytes = Array(upgrade.utf8) + body
        let parsed = try #require(try HTTPRequestHead.parse(bytes))
        #expect(parsed.length == upgrade.utf8.count)
    }

    /// A space or tab followed by a combining mark is one Character in Swift; HTTP cuts at
    /// the byte (fuzz-http-request: a value that changed after serializing and parsing again).
    @Test func separatorsAreBytesEvenBeforeACombiningMark() throws {
        let bytes = Array("GET / HTTP/1.1\r\nA:\t\t\u{32C}\r\nB: x \u{301}y \r\n\r\n".utf8)
        let head = try #require(try HTTPRequestHead.parse(bytes)).head
        #expect(head.headers["A"] == "\u{32C}")
        #expect(head.headers["B"] == "x \u{301}y")
        #expect(try HTTPRequestHead.parse(head.serialized)?.head == head)
        #expect(throws: HTTPError("malformed request line")) {
            try HTTPRequestHead.parse(Array("GET /a \u{32C}b HTTP/1.1\r\n\r\n".utf8))
        }
    }

    @Test func aHeadArrivingByteByByteParsesAsWhole() throws {
        let bytes = Array(upgrade.utf8) + [0x82]
        let whole = try #require(try HTTPRequestHead.parse(bytes))
        var boundary = HTTPHeadBoundary()
        var received: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            received.append(byte)
            let parsed = try HTTPRequestHead.parse(received, resuming: &boundary)
            if index + 1 < upgrade.utf8.count {
                #expect(parsed == nil, "after \(index + 1) bytes")
            } else {
                #expect(parsed?.head == whole.head && parsed?.length == whole.length)
                break
            }
        }
    }

    @Test func limitsHoldForHeadsArrivingInPieces() {
        var boundary = HTTPHeadBoundary()
        var received: [UInt8] = []
        #expect(throws: HTTPError(status: 431, "head larger than 64 bytes")) {
            for _ in 0..<100 {
                received += Array("X-Pad: 1234\r\n".utf8)
                _ = try HTTPRequestHead.parse(received, limit: 64, resuming: &boundary)
            }
        }
        var nul = HTTPHeadBoundary()
        #expect(throws: HTTPError("NUL byte in head")) {
            _ = try HTTPResponseHead.parse(Array("HTTP/1.1 200 OK\r\n".utf8), resuming: &nul)
            _ = try HTTPResponseHead.parse(Array("HTTP/1.1 200 OK\r\nA: \0\r\n".utf8), resuming: &nul)
        }
    }

    @Test func everyTruncationNeedsMoreBytes() throws {
        let bytes = Array(upgrade.utf8)
        for cut in 0..<bytes.count {
            #expect(try HTTPRequestHead.parse(Array(bytes[..<cut])) == nil, "prefix of \(cut) bytes")
        }
        let bare = Array("GET / HTTP/1.1\nHost: a\n\n".utf8)
        for cut in 0..<bare.count {
            #expect(try HTTPRequestHead.parse(Array(bare[..<cut])) == nil, "bare LF prefix of \(cut) bytes")
        }
    }

    @Test func headerValuesAreTrimmed() throws {
        let parsed = try #require(try request("GET / HTTP/1.1\r\nA:  \t spaced \t \r\nB:tight\r\nC: in ner\r\n\r\n"))
        #expect(parsed.head.headers["a"] == "spaced")
        #expect(parsed.head.headers["b"] == "tight")
        #expect(parsed.head.headers["c"] == "in ner")
    }

    @Test func repeatedHeadersKeepOrderAndFirstWins() throws {
        let parsed = try #require(try request("GET / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\n\r\n"))
        #expect(parsed.head.headers["X-A"] == "1")
        #expect(parsed.head.headers.fields.map(\.value) == ["1", "2"])
    }

    @Test func valueMayContainColonsAndTabs() throws {
        let parsed = try #require(try request("GET / HTTP/1.1\r\nHost: [::1]:8000\r\nX: a\tb\r\n\r\n"))
        #expect(parsed.head.headers["host"] == "[::1]:8000")
        #expect(parsed.head.headers["x"] == "a\tb")
    }

    @Test func acceptsHTTP10AndOtherMethodsAndStarTarget() throws {
        #expect(try request("GET / HTTP/1.0\r\n\r\n")?.head.version == "HTTP/1.0")
        #expect(try request("HEAD /docs/agent HTTP/1.1\r\n\r\n")?.head.method == "HEAD")
        #expect(try request("OPTIONS * HTTP/1.1\r\n\r\n")?.head.target == "*")
        #expect(try request("POST /x HTTP/1.1\r\n\r\n")?.head.method == "POST")
    }

    @Test(arguments: ["HTTP/2.0", "HTTP/2", "HTTP/0.9", "HTTP/1.2", "http/1.1", "HTTP/1.1x", "SSH-2.0"])
    func otherVersionsAre505(version: String) {
        #expect(requestError("GET / \(version)\r\n\r\n")?.status == 505)
    }

    @Test(arguments: [
        "GET /",                       // two parts
        "GET",                         // one part
        "GET  / HTTP/1.1",             // double space
        "GET / HTTP/1.1 ",             // trailing space
        " GET / HTTP/1.1",             // leading space
        "get / HTTP/1.1",              // lower-case method
        "G3T / HTTP/1.1",              // digit in method
        "GÉT / HTTP/1.1",              // non-ASCII method
        "GET / HTTP/1.1 extra",        // four parts
        "GET\t/\tHTTP/1.1",            // tabs, not spaces
        "",                            // empty line before the head
    ])
    func malformedRequestLinesAre400(line: String) {
        let error = requestError("\(line)\r\nHost: a\r\n\r\n")
        #expect(error?.status == 400, "\(line)")
    }

    @Test(arguments: ["http://example.com/", "example.com", "agent/x", "?x"])
    func targetsMustBePaths(target: String) {
        #expect(requestError("GET \(target) HTTP/1.1\r\n\r\n")?.status == 400)
    }

    @Test func emptyHeadIs400() {
        #expect(requestError("\r\n\r\n")?.status == 400)
        #expect(requestError("\n\n")?.status == 400)
    }

    @Test(arguments: [
        "NoColonHere",
        ": empty name",
        "Bad Name: x",
        "Bad\tName: x",
        "Nämé: x",
        "X-A : spaced before colon",
        " folded: continuation",
        "\tfolded: continuation",
        "X: a\u{01}b",
        "X: a\rb",
        "X: a\u{1B}[31m",
        "(x): y",
        "x/y: z",
    ])
    func malformedHeaderLinesAre400(line: String) {
        let error = requestError("GET / HTTP/1.1\r\nHost: a\r\n\(line)\r\n\r\n")
        #expect(error?.status == 400, "\(line)")
    }

    @Test func tokenCharactersAreAllowedInNames() throws {
        let parsed = try #require(try request("GET / HTTP/1.1\r\nX-a_b.c!#$%&'*+^`|~9: v\r\n\r\n"))
        #expect(parsed.head.headers.fields[0].name == "X-a_b.c!#$%&'*+^`|~9")
    }

    @Test func nulBytesAre400EvenBeforeTheHeadIsComplete() {
        let good = Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        for position in 0..<(good.count - 1) {
            var bytes = good
            bytes[position] = 0
            #expect(requestError(bytes)?.status == 400, "NUL at \(position)")
            #expect(requestError(Array(bytes[...position]))?.status == 400, "NUL at the end of an incomplete head, \(position)")
        }
    }

    @Test func invalidUTF8Is400() {
        #expect(requestError([UInt8]("GET / HTTP/1.1\r\nX: ".utf8) + [0xFF, 0xFE] + [UInt8]("\r\n\r\n".utf8))?.status == 400)
        #expect(requestError([UInt8]("GET /".utf8) + [0xC3] + [UInt8](" HTTP/1.1\r\n\r\n".utf8))?.status == 400)
    }

    @Test func validUTF8InValuesIsKept() throws {
        let parsed = try #require(try request("GET / HTTP/1.1\r\nX-Name: Zoë\r\n\r\n"))
        #expect(parsed.head.headers["x-name"] == "Zoë")
    }

    @Test func headsOverTheLimitAre431() throws {
        let head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        let n = head.utf8.count
        #expect(try request(head, limit: n)?.length == n)
        #expect(requestError(head, limit: n - 1)?.status == 431)
        // No blank line yet, but already past the limit: no need to wait for more.
        let endless = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000)
        #expect(requestError(endless)?.status == 431)
        #expect(requestError(String(repeating: "a", count: 8193))?.status == 431)
        #expect(try request(String(repeating: "a", count: 8192)) == nil)
        // The default limit is 8 KiB.
        let big = "GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 8192) + "\r\n\r\n"
        #expect(requestError(big)?.status == 431)
    }

    @Test func moreThan100HeaderFieldsAre431() throws {
        func head(_ n: Int) -> String {
            "GET / HTTP/1.1\r\n" + (0..<n).map { "H\($0): v\r\n" }.joined() + "\r\n"
        }
        #expect(try request(head(100))?.head.headers.fields.count == 100)
        #expect(requestError(head(101))?.status == 431)
    }

    @Test func serializedRoundTrips() throws {
        let head = HTTPRequestHead(method: "GET", target: "/agent/x?y", headers: HTTPHeaders([("Host", "h"), ("X-Converge-Agent-Key", "k")]))
        let bytes = head.serialized
        #expect(String(decoding: bytes, as: UTF8.self) == "GET /agent/x?y HTTP/1.1\r\nHost: h\r\nX-Converge-Agent-Key: k\r\n\r\n")
        let parsed = try #require(try HTTPRequestHead.parse(bytes))
        #expect(parsed.head == head)
        #expect(parsed.length == bytes.count)
    }

    @Test func headersEquality() {
        #expect(HTTPHeaders([("a", "1")]) == HTTPHeaders([("a", "1")]))
        #expect(HTTPHeaders([("a", "1")]) != HTTPHeaders([("a", "2")]))
        #expect(HTTPHeaders([("a", "1")]) != HTTPHeaders([("A", "1")]))
        #expect(HTTPHeaders([("a", "1")]) != HTTPHeaders([("a", "1"), ("b", "2")]))
        var h = HTTPHeaders()
        h.add("X", "y")
        #expect(h == HTTPHeaders([("X", "y")]))
    }

    @Test func pathOfTargets() {
        #expect(HTTPRequestHead(method: "GET", target: "/a?b?c").path == "/a")
        #expect(HTTPRequestHead(method: "GET", target: "/a").path == "/a")
        #expect(HTTPRequestHead(method: "GET", target: "/?").path == "/")
        #expect(HTTPRequestHead(method: "GET", target: "?q").path == "")
    }
}

@Suite struct HTTPResponseHeadTests {
    @Test func parsesA101() throws {
        let text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        let bytes = Array(text.utf8) + [0x81, 0x00]
        let parsed = try #require(try HTTPResponseHead.parse(bytes))
        #expect(parsed.length == text.utf8.count)
        #expect(parsed.head.status == 101)
        #expect(parsed.head.reason == "Switching Protocols")
        #expect(parsed.head.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func reasonMayBeMissingOrContainSpaces() throws {
        #expect(try HTTPResponseHead.parse(Array("HTTP/1.1 200\r\n\r\n".utf8))?.head.reason == "")
        #expect(try HTTPResponseHead.parse(Array("HTTP/1.1 200 \r\n\r\n".utf8))?.head.reason == "")
        #expect(try HTTPResponseHead.parse(Array("HTTP/1.0 404 Not  Found Here\r\n\r\n".utf8))?.head.reason == "Not  Found Here")
        #expect(try HTTPResponseHead.parse(Array("HTTP/1.1 200 OK\nA: b\n\n".utf8))?.head.headers["a"] == "b")
    }

    @Test(arguments: ["HTTP/1.1 99 Low", "HTTP/1.1 600 High", "HTTP/1.1 2000 Long", "HTTP/1.1 20 Short",
                      "HTTP/1.1 +20 Sign", "HTTP/1.1 abc Text", "HTTP/2 200 OK", "HTTP/2.0 200 OK", "ICY 200 OK",
                      "HTTP/1.1", "HTTP/1.1  200 OK", "http/1.1 200 OK", "SSH-2.0-OpenSSH_9.6"])
    func malformedStatusLinesAre400(line: String) {
        #expect(responseError("\(line)\r\n\r\n")?.status == 400, "\(line)")
    }

    @Test func truncatedResponsesNeedMoreBytes() throws {
        let bytes = Array("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n".utf8)
        for cut in 0..<bytes.count {
            #expect(try HTTPResponseHead.parse(Array(bytes[..<cut])) == nil)
        }
    }

    @Test func responseLimitIs16KiB() throws {
        let head = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 10_000) + "\r\n\r\n"
        #expect(try HTTPResponseHead.parse(Array(head.utf8))?.head.status == 200)
        let big = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 16_384) + "\r\n\r\n"
        #expect(responseError(big)?.status == 431)
    }

    @Test func badHeaderInResponseIs400() {
        #expect(responseError("HTTP/1.1 200 OK\r\nno colon\r\n\r\n")?.status == 400)
    }

    @Test func serializedRoundTrips() throws {
        let head = HTTPResponseHead(status: 409, headers: HTTPHeaders([("Content-Type", "text/plain"), ("Content-Length", "5")]))
        #expect(head.reason == "Conflict")
        let bytes = head.serialized
        #expect(String(decoding: bytes, as: UTF8.self) == "HTTP/1.1 409 Conflict\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n")
        let parsed = try #require(try HTTPResponseHead.parse(bytes))
        #expect(parsed.head == head)
    }

    @Test func reasonPhrases() {
        #expect(HTTPResponseHead.reasonPhrase(101) == "Switching Protocols")
        #expect(HTTPResponseHead.reasonPhrase(404) == "Not Found")
        #expect(HTTPResponseHead.reasonPhrase(431) == "Request Header Fields Too Large")
        #expect(HTTPResponseHead.reasonPhrase(505) == "HTTP Version Not Supported")
        #expect(HTTPResponseHead.reasonPhrase(418) == "Status 418")
        #expect(HTTPResponseHead(status: 200, reason: "Fine").reason == "Fine")
    }

    @Test func errorDescription() {
        let error = HTTPError(status: 431, "too big")
        #expect(error.description == "too big")
        #expect(HTTPError("x").status == 400)
    }
}
