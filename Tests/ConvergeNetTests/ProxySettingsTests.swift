import ConvergeNet
import Testing

@Suite struct ProxySettingsTests {
    @Test func noProxyMatching() {
        let list = NoProxyList("localhost, .internal.example,example.org:8443 10.0.0.1,[::1]")
        #expect(list.matches(host: "localhost", port: 80))
        #expect(list.matches(host: "LOCALHOST", port: 80))
        #expect(list.matches(host: "internal.example", port: 443))
        #expect(list.matches(host: "ci.internal.example", port: 443))
        #expect(!list.matches(host: "notinternal.example", port: 443))
        #expect(list.matches(host: "example.org", port: 8443))
        #expect(!list.matches(host: "example.org", port: 443))
        #expect(list.matches(host: "10.0.0.1", port: 80))
        #expect(!list.matches(host: "10.0.0.10", port: 80))
        #expect(list.matches(host: "::1", port: 80))
        #expect(list.matches(host: "[::1]", port: 80))
        #expect(!list.matches(host: "example.com", port: 443))
    }

    @Test func noProxyDomainWithoutDotMatchesSubdomains() {
        let list = NoProxyList("example.com")
        #expect(list.matches(host: "example.com", port: 443))
        #expect(list.matches(host: "a.b.example.com", port: 443))
        #expect(list.matches(host: "example.com.", port: 443))
        #expect(!list.matches(host: "badexample.com", port: 443))
        #expect(NoProxyList("*.example.com").matches(host: "x.example.com", port: 1))
    }

    @Test func starMeansEverything() {
        #expect(NoProxyList("*").matches(host: "anything.example", port: 1))
        #expect(NoProxyList(" foo , * ").matches(host: "bar", port: 1))
        #expect(!NoProxyList("").matches(host: "bar", port: 1))
    }

    @Test func environmentPrecedence() throws {
        let env = ["https_proxy": "http://lower:3128", "HTTPS_PROXY": "http://upper:3128",
                   "HTTP_PROXY": "proxy.example:8080", "NO_PROXY": "localhost"]
        let settings = ProxySettings { env[$0] }
        #expect(try settings.proxy(forHost: "server.example", port: 443, secure: true) == ProxyServer(host: "lower", port: 3128))
        #expect(try settings.proxy(forHost: "server.example", port: 80, secure: false) == ProxyServer(host: "proxy.example", port: 8080))
        #expect(try settings.proxy(forHost: "localhost", port: 443, secure: true) == nil)
        let empty = ProxySettings { ["https_proxy": ""][$0] }
        #expect(try empty.proxy(forHost: "server.example", port: 443, secure: true) == nil)
        #expect(try ProxySettings { _ in nil }.proxy(forHost: "x", port: 1, secure: false) == nil)
    }

    @Test func proxyURLs() throws {
        #expect(try ProxyServer(parsing: "http://proxy:3128/") == ProxyServer(host: "proxy", port: 3128))
        #expect(try ProxyServer(parsing: "proxy") == ProxyServer(host: "proxy", port: 1080))
        #expect(try ProxyServer(parsing: "http://[::1]:8080") == ProxyServer(host: "::1", port: 8080))
        let withUser = try ProxyServer(parsing: "http://user:p%40ss@proxy:3128")
        #expect(withUser.host == "proxy")
        #expect(withUser.authorization == "Basic dXNlcjpwQHNz")  // user:p@ss
        #expect(throws: NetError.self) { try ProxyServer(parsing: "https://proxy:3128") }
        #expect(throws: NetError.self) { try ProxyServer(parsing: "http://proxy:notaport") }
        let bad = ProxySettings(httpsProxy: "socks5://x:1")
        do {
            _ = try bad.proxy(forHost: "h", port: 443, secure: true)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.hasPrefix("https_proxy: unsupported proxy URL"))
        }
    }
}
