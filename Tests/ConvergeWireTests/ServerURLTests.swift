import Testing
@testable import ConvergeWire

private func url(_ text: String, schemes: [String] = ["ws", "wss"]) -> ServerURL? {
    try? ServerURL(parsing: text, schemes: schemes)
}

private func urlError(_ text: String, schemes: [String] = ["ws", "wss"]) -> ServerURL.ParseError? {
    do {
        _ = try ServerURL(parsing: text, schemes: schemes)
        return nil
    } catch {
        return error
    }
}

@Suite struct ServerURLTests {
    @Test func defaultPorts() throws {
        let plain = try #require(url("ws://example.com"))
        #expect(!plain.secure && plain.host == "example.com" && plain.port == 80 && plain.path == "/")
        let secure = try #require(url("wss://example.com"))
        #expect(secure.secure && secure.port == 443)
        #expect(plain.hostHeader == "example.com" && secure.hostHeader == "example.com")
        #expect(plain.description == "ws://example.com/")
        #expect(secure.description == "wss://example.com/")
    }

    @Test func explicitPorts() throws {
        let u = try #require(url("ws://example.com:8000/client/abc"))
        #expect(u.port == 8000 && u.path == "/client/abc" && u.hostHeader == "example.com:8000")
        #expect(u.description == "ws://example.com:8000/client/abc")
        #expect(url("wss://h:443")?.hostHeader == "h")
        #expect(url("ws://h:443")?.hostHeader == "h:443")
        #expect(url("wss://h:80")?.hostHeader == "h:80")
        #expect(url("ws://h:1")?.port == 1)
        #expect(url("ws://h:65535")?.port == 65535)
    }

    @Test(arguments: ["ws://h:0", "ws://h:65536", "ws://h:", "ws://h:http", "ws://h:-1", "ws://h:+80", "ws://h: 80",
                      "ws://h:99999999999999999999999", "ws://h:8000:9000", "ws://h:0x50"])
    func badPortsAreRejected(text: String) {
        #expect(urlError(text) != nil, "\(text)")
    }

    @Test func ipv6Hosts() throws {
        let u = try #require(url("ws://[::1]:8000/x"))
        #expect(u.host == "::1" && u.port == 8000 && u.path == "/x")
        #expect(u.hostHeader == "[::1]:8000")
        #expect(u.description == "ws://[::1]:8000/x")
        let d = try #require(url("wss://[2001:db8::1]"))
        #expect(d.host == "2001:db8::1" && d.port == 443 && d.hostHeader == "[2001:db8::1]")
        #expect(urlError("ws://[::1") != nil)
        #expect(urlError("ws://[::1]x") != nil)
        #expect(urlError("ws://[::1]:") != nil)
        #expect(urlError("ws://[]:80") != nil)
        #expect(urlError("ws://[fe80::1%eth0]") != nil)
    }

    @Test(arguments: ["ws://::1", "ws://::1:8000", "ws://fe80::1/x", "ws://a:b:80", "ws://host::80"])
    func unbracketedColonsAreRejected(text: String) {
        #expect(urlError(text) != nil, "\(text)")
    }

    @Test func pathsQueriesAndFragments() {
        #expect(url("ws://h/a/b?c=d")?.path == "/a/b?c=d")
        #expect(url("ws://h?q=1")?.path == "/?q=1")
        #expect(url("ws://h:81?q")?.port == 81)
        #expect(url("ws://h#frag")?.path == "/")
        #expect(url("ws://h/x#frag")?.path == "/x")
        #expect(url("ws://h/")?.path == "/")
        #expect(url("ws://h/%41")?.path == "/%41")
        #expect(urlError("ws://h/a b") != nil)
        #expect(urlError("ws://h/é") != nil)
        #expect(urlError("ws://h/\u{7F}") != nil)
    }

    @Test func userInfoIsDropped() {
        #expect(url("ws://user:secret@h:81/x")?.hostHeader == "h:81")
        #expect(url("ws://a@b@h/x")?.host == "h")
    }

    @Test func schemes() {
        #expect(url("WSS://H")?.secure == true)
        #expect(url("WS://H")?.description == "ws://H/")
        #expect(urlError("http://h") != nil)
        #expect(urlError("https://h") != nil)
        #expect(urlError("ftp://h") != nil)
        #expect(urlError("wss:/h") != nil)
        #expect(urlError("wss:h") != nil)
        #expect(urlError("//h") != nil)
        #expect(url("https://h/key", schemes: ["http", "https"])?.port == 443)
        #expect(url("http://h/key", schemes: ["http", "https"])?.port == 80)
        #expect(urlError("ws://h", schemes: ["http", "https"]) != nil)
    }

    @Test(arguments: ["", "example.com", "ws://", "ws:///x", "ws://:80", "ws://h st", "ws://h\u{0}", "ws://é.com",
                      "ws://h!", "ws://<script>", " ws://h", "ws://h\r\nX: y", "wss://@", "ws://?x"])
    func junkIsRejected(text: String) {
        #expect(urlError(text) != nil, "\(text)")
    }

    @Test func errorsEscapeTheInput() throws {
        let error = try #require(urlError("ws://bad\nhost"))
        #expect(!error.description.contains("\n"))
        let scheme = try #require(urlError("x\u{1B}[31m://h"))
        #expect(!scheme.description.contains("\u{1B}"))
    }

    @Test func withPath() throws {
        let u = try #require(url("wss://h:8443/ignored"))
        let agent = u.with(path: "/agent/abc")
        #expect(agent.description == "wss://h:8443/agent/abc")
        #expect(agent.secure && agent.port == 8443 && agent.host == "h")
        #expect(agent == (try ServerURL(parsing: "wss://h:8443/agent/abc")))
    }
}

@Suite struct RendezvousIDTests {
    @Test func validIDs() {
        #expect(RendezvousID.isValid("a"))
        #expect(RendezvousID.isValid("build-1234.job_7"))
        #expect(RendezvousID.isValid("..."))
        #expect(RendezvousID.isValid("-"))
        #expect(RendezvousID.isValid("ABCxyz019"))
        #expect(RendezvousID.isValid(String(repeating: "x", count: 64)))
        #expect(RendezvousID.isValid("ab"[...]))
    }

    @Test func lengthLimits() {
        #expect(!RendezvousID.isValid(""))
        #expect(RendezvousID.isValid(String(repeating: "a", count: 63)))
        #expect(RendezvousID.isValid(String(repeating: "a", count: 64)))
        #expect(!RendezvousID.isValid(String(repeating: "a", count: 65)))
        #expect(!RendezvousID.isValid(String(repeating: "a", count: 1000)))
    }

    @Test(arguments: ["a b", "a/b", "a\\b", "a%2F", "a?", "a#", "a:b", "a@b", "a+b", "a~b", "é", "ab\u{0}",
                      "a\n", "\u{FF21}", "a\u{301}", "<x>", "a\"b", "a'b", "a*b", "a,b", "a;b", "a=b"])
    func badCharacters(id: String) {
        #expect(!RendezvousID.isValid(id), "\(id)")
    }

    @Test func multiByteCharactersCountAsBytes() {
        // 32 two-byte characters: 32 characters but 64 bytes, and not allowed anyway.
        #expect(!RendezvousID.isValid(String(repeating: "é", count: 32)))
    }

    @Test func everyAllowedByte() {
        for byte in 0...255 {
            let c = UInt8(byte)
            let allowed = (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x2E || c == 0x5F || c == 0x2D
            guard let text = String(validating: [c], as: UTF8.self) else { continue }
            #expect(RendezvousID.isValid(text) == allowed, "byte \(byte)")
        }
    }

    @Test func randomIDsAreValidAndDistinct() {
        var random = TestRandom(seed: 20)
        let ids = (0..<200).map { _ in RendezvousID.random { random.bytes($0) } }
        #expect(ids.allSatisfy { $0.count == 20 && RendezvousID.isValid($0) })
        #expect(ids.allSatisfy { $0.allSatisfy { $0.isLetter || $0.isNumber } })
        #expect(Set(ids).count == ids.count)
    }

    @Test func randomSkipsBiasedBytes() {
        // Bytes 248...255 would bias the alphabet: they are dropped, and more bytes are asked for.
        var calls = 0
        let id = RendezvousID.random { count in
            calls += 1
            return calls == 1 ? [UInt8](repeating: 250, count: count) : (0..<count).map { UInt8($0) }
        }
        #expect(calls == 2)
        #expect(id == "abcdefghijklmnopqrst")
        let wrapped = RendezvousID.random { count in [UInt8](repeating: 62 + 61, count: count) }
        #expect(wrapped == String(repeating: "9", count: 20))
        let last = RendezvousID.random { count in [UInt8](repeating: 247, count: count) }
        #expect(last == String(repeating: "9", count: 20))
    }
}
