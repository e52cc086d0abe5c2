import Testing
@testable import ConvergeWire

private func upgradeRequest(method: String = "GET", version: String = "HTTP/1.1", drop: String? = nil,
                            replace: [String: String] = [:]) -> HTTPRequestHead {
    var fields: [(name: String, value: String)] = [("Host", "example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                                   ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")]
    fields.removeAll { $0.name == drop }
    fields = fields.map { (name: $0.name, value: replace[$0.name] ?? $0.value) }
    return HTTPRequestHead(method: method, target: "/client/x", version: version, headers: HTTPHeaders(fields))
}

private func upgradeError(_ request: HTTPRequestHead) -> HTTPError? {
    do {
        _ = try WebSocketHandshake.validateUpgrade(request)
        return nil
    } catch {
        return error
    }
}

private func responseError(_ response: HTTPResponseHead, key: String) -> HTTPError? {
    do {
        try WebSocketHandshake.validateResponse(response, key: key)
        return nil
    } catch {
        return error
    }
}

@Suite struct WebSocketHandshakeTests {
    @Test func rfc6455Example() {
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func validUpgradeReturnsTheKey() throws {
        #expect(try WebSocketHandshake.validateUpgrade(upgradeRequest()) == "dGhlIHNhbXBsZSBub25jZQ==")
        // Token lists and any letter case.
        let lenient = upgradeRequest(replace: ["Upgrade": "WebSocket", "Connection": "keep-alive, upgrade"])
        #expect(try WebSocketHandshake.validateUpgrade(lenient) == "dGhlIHNhbXBsZSBub25jZQ==")
    }

    @Test func upgradeFromParsedBytes() throws {
        let text = "GET /agent/abc HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        let head = try #require(try HTTPRequestHead.parse(Array(text.utf8))).head
        #expect(try WebSocketHandshake.validateUpgrade(head) == "dGhlIHNhbXBsZSBub25jZQ==")
    }

    @Test func methodAndVersionAreChecked() {
        #expect(upgradeError(upgradeRequest(method: "POST"))?.status == 405)
        #expect(upgradeError(upgradeRequest(method: "HEAD"))?.status == 405)
        #expect(upgradeError(upgradeRequest(version: "HTTP/1.0"))?.status == 400)
    }

    @Test func missingUpgradeHeadersAre426() {
        #expect(upgradeError(upgradeRequest(drop: "Upgrade"))?.status == 426)
        #expect(upgradeError(upgradeRequest(drop: "Connection"))?.status == 426)
        #expect(upgradeError(upgradeRequest(replace: ["Upgrade": "h2c"]))?.status == 426)
        #expect(upgradeError(upgradeRequest(replace: ["Connection": "keep-alive"]))?.status == 426)
        #expect(upgradeError(upgradeRequest(replace: ["Upgrade": "websockets"]))?.status == 426)
    }

    @Test func versionMustBe13() {
        #expect(upgradeError(upgradeRequest(drop: "Sec-WebSocket-Version"))?.status == 426)
        #expect(upgradeError(upgradeRequest(replace: ["Sec-WebSocket-Version": "8"]))?.status == 426)
        #expect(upgradeError(upgradeRequest(replace: ["Sec-WebSocket-Version": "14"]))?.status == 426)
    }

    @Test(arguments: ["", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ=!",
                      "c2hvcnQ=", "dGhlIHNhbXBsZSBub25jZSEh", "not base64 at all!!!", "dGhlIHNhbXBsZSBub25j ZQ=="])
    func malformedKeysAre400(key: String) {
        #expect(upgradeError(upgradeRequest(replace: ["Sec-WebSocket-Key": key]))?.status == 400)
    }

    @Test func missingKeyIs400() {
        #expect(upgradeError(upgradeRequest(drop: "Sec-WebSocket-Key"))?.status == 400)
    }

    @Test func acceptResponse() {
        let response = WebSocketHandshake.acceptResponse(key: "dGhlIHNhbXBsZSBub25jZQ==", extraHeaders: [("X-Converge-User", "ci")])
        #expect(response.status == 101)
        #expect(response.reason == "Switching Protocols")
        #expect(response.headers["Sec-WebSocket-Accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(response.headers["X-Converge-User"] == "ci")
        #expect(String(decoding: response.serialized, as: UTF8.self).hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
    }

    @Test func clientAndServerAgree() throws {
        let key = WebSocketHandshake.randomKey()
        let request = WebSocketHandshake.clientRequest(host: "example.com:8443", path: "/client/abc", key: key,
                                                       extraHeaders: [("X-Converge-Agent-Key", "k")])
        let parsedRequest = try #require(try HTTPRequestHead.parse(request.serialized)).head
        #expect(parsedRequest.headers["host"] == "example.com:8443")
        #expect(parsedRequest.headers["x-converge-agent-key"] == "k")
        #expect(parsedRequest.target == "/client/abc")
        let serverKey = try WebSocketHandshake.validateUpgrade(parsedRequest)
        #expect(serverKey == key)
        let response = try #require(try HTTPResponseHead.parse(WebSocketHandshake.acceptResponse(key: serverKey).serialized)).head
        #expect(responseError(response, key: key) == nil)
    }

    @Test func randomKeysAre16BytesAndFresh() {
        let keys = (0..<50).map { _ in WebSocketHandshake.randomKey() }
        #expect(keys.allSatisfy { Base64.decode($0)?.count == 16 })
        #expect(Set(keys).count == keys.count)
    }

    @Test func validateResponseRefusals() {
        let key = "dGhlIHNhbXBsZSBub25jZQ=="
        #expect(responseError(HTTPResponseHead(status: 404), key: key)?.status == 404)
        #expect(responseError(HTTPResponseHead(status: 409), key: key)?.description.contains("409") == true)
        #expect(responseError(HTTPResponseHead(status: 200), key: key)?.status == 200)
        let good = WebSocketHandshake.acceptResponse(key: key)
        #expect(responseError(good, key: key) == nil)
        #expect(responseError(good, key: "AAAAAAAAAAAAAAAAAAAAAA==")?.status == 502)
        let noUpgrade = HTTPResponseHead(status: 101, headers: HTTPHeaders(good.headers.fields.filter { $0.name != "Upgrade" }))
        #expect(responseError(noUpgrade, key: key)?.status == 502)
        let noConnection = HTTPResponseHead(status: 101, headers: HTTPHeaders(good.headers.fields.filter { $0.name != "Connection" }))
        #expect(responseError(noConnection, key: key)?.status == 502)
        let noAccept = HTTPResponseHead(status: 101, headers: HTTPHeaders([("Upgrade", "websocket"), ("Connection", "upgrade")]))
        #expect(responseError(noAccept, key: key)?.status == 502)
    }
}
