import Testing
@testable import ConvergeServer

/// Every `scheme://rest` in the page, up to the next space, quote or tag.
private func urls(in html: String) -> [String] {
    var found: [String] = []
    let scalars = Array(html.unicodeScalars)
    var i = 0
    while i + 3 <= scalars.count {
        if scalars[i] == ":" && i + 2 < scalars.count && scalars[i + 1] == "/" && scalars[i + 2] == "/" {
            var start = i
            while start > 0, scalars[start - 1].properties.isAlphabetic { start -= 1 }
            var end = i + 3
            while end < scalars.count, !" \"'<>\n".unicodeScalars.contains(scalars[end]) { end += 1 }
            found.append(String(String.UnicodeScalarView(scalars[start..<end])))
            i = end
        } else {
            i += 1
        }
    }
    return found
}

private func headers(_ fields: [String: String]) -> DocsPage.HTTPHeadersView {
    { name in fields.first { $0.key.lowercased() == name.lowercased() }?.value }
}

@Suite struct DocsPageTests {
    @Test(arguments: [false, true])
    func everyCommandUsesTheRightSchemesAndHost(secure: Bool) {
        let host = "converge.example.com:8443"
        let html = DocsPage(secure: secure, host: host, user: "ci").html
        let s = secure ? "s" : ""
        let found = urls(in: html)
        #expect(found.count >= 7)
        for url in found {
            #expect(url.hasPrefix("http\(s)://\(host)/") || url == "ws\(s)://\(host)" || url.hasPrefix("ws\(s)://\(host)/"), "\(url)")
        }
        #expect(html.contains("curl http\(s)://\(host)/docs/agent &gt; agent"))
        #expect(html.contains("wget -O agent http\(s)://\(host)/docs/agent"))
        #expect(html.ranges(of: "./agent --id ID ws\(s)://\(host)</code>").count == 2)
        #expect(html.contains("-oProxyCommand=\"wsproxy ws\(s)://\(host)/client/ID\" ci@localhost"))
        #expect(html.ranges(of: "wsproxy ws\(s)://\(host)/client/ID\"").count == 2)
        #expect(html.contains("tcptows ws\(s)://\(host)/client/ID"))
        #expect(html.contains("ssh -oServerAliveInterval=10 -p 10000 ci@localhost"))
        #expect(html.contains("sftp -oServerAliveInterval=10 -oPort=10000 ci@localhost"))
        #expect(!html.contains(secure ? "http://" : "https://"))
        #expect(!html.contains(secure ? "ws://" : "wss://"))
    }

    @Test func footerShowsTheVersion() {
        var docs = DocsPage(secure: true, host: "h", user: nil)
        #expect(!docs.html.contains("<footer>"))
        docs.build = ("1.2.3", "0123456789ab<")
        #expect(docs.html.contains("<footer><p>Converge 1.2.3 (commit <code>0123456789ab&lt;</code>)</p></footer>\n</body>"))
    }

    @Test func userOrPlaceholder() {
        let withUser = DocsPage(secure: true, host: "h", user: "team").html
        #expect(withUser.ranges(of: "team@localhost").count == 4)
        #expect(!withUser.contains("USER@localhost"))
        let without = DocsPage(secure: true, host: "h", user: nil).html
        #expect(without.ranges(of: "USER@localhost").count == 4)
        #expect(without.contains("placeholder"))
    }

    @Test func downloadsAreListed() {
        let html = DocsPage(secure: false, host: "h", user: nil).html
        for name in ["agent", "wsproxy", "tcptows"] {
            #expect(html.contains("href=\"/docs/\(name)\""))
        }
        #expect(html.contains("Windows builds are not provided"))
        #expect(!html.contains("agent.exe"))
    }

    @Test func hostAndUserAreEscaped() {
        let html = DocsPage(secure: false, host: "<script>alert('x')</script>&\"", user: "<b>\"me\"</b>").html
        #expect(!html.contains("<script>"))
        #expect(!html.contains("<b>"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"))
        #expect(html.contains("&lt;b&gt;&quot;me&quot;&lt;/b&gt;@localhost"))
    }

    @Test func escape() {
        #expect(DocsPage.escape("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&#39;f")
        #expect(DocsPage.escape("plain.example.com:80") == "plain.example.com:80")
        #expect(DocsPage.escape("&amp;") == "&amp;amp;")
        #expect(DocsPage.escape("zoë") == "zoë")
    }

    @Test func pageIsWholeHTML() {
        let html = DocsPage(secure: true, host: "h", user: nil).html
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("</html>"))
        #expect(html.contains("<meta charset=\"utf-8\">"))
    }
}

@Suite struct PublicAddressTests {
    let fallback = "0.0.0.0:8000"

    @Test func hostHeader() {
        let address = DocsPage.publicAddress(headers: headers(["Host": "example.com:8000"]), fallbackHost: fallback)
        #expect(address.secure == false && address.host == "example.com:8000")
    }

    @Test func noHostHeaderUsesTheFallback() {
        let address = DocsPage.publicAddress(headers: headers([:]), fallbackHost: fallback)
        #expect(address.secure == false && address.host == fallback)
        #expect(DocsPage.publicAddress(headers: headers(["Host": ""]), fallbackHost: fallback).host == fallback)
    }

    @Test func forwardedHeadersWin() {
        let address = DocsPage.publicAddress(headers: headers(["Host": "127.0.0.1:8000", "X-Forwarded-Proto": "https",
                                                               "X-Forwarded-Host": "converge.example.com"]), fallbackHost: fallback)
        #expect(address.secure && address.host == "converge.example.com")
    }

    @Test func protoIsCaseInsensitiveAndFirstOfAList() {
        #expect(DocsPage.publicAddress(headers: headers(["X-Forwarded-Proto": "HTTPS"]), fallbackHost: fallback).secure)
        #expect(DocsPage.publicAddress(headers: headers(["X-Forwarded-Proto": " https , http"]), fallbackHost: fallback).secure)
        #expect(!DocsPage.publicAddress(headers: headers(["X-Forwarded-Proto": "http, https"]), fallbackHost: fallback).secure)
        #expect(!DocsPage.publicAddress(headers: headers(["X-Forwarded-Proto": "http"]), fallbackHost: fallback).secure)
        #expect(!DocsPage.publicAddress(headers: headers(["X-Forwarded-Proto": ""]), fallbackHost: fallback).secure)
        #expect(!DocsPage.publicAddress(headers: headers(["X-Forwarded-Proto": "httpsx"]), fallbackHost: fallback).secure)
    }

    @Test func forwardedHostListTakesTheFirst() {
        let address = DocsPage.publicAddress(headers: headers(["X-Forwarded-Host": " a.example.com , b.example.com", "Host": "c"]), fallbackHost: fallback)
        #expect(address.host == "a.example.com")
        #expect(DocsPage.publicAddress(headers: headers(["X-Forwarded-Host": "", "Host": "c"]), fallbackHost: fallback).host == "c")
        #expect(DocsPage.publicAddress(headers: headers(["X-Forwarded-Host": " , x", "Host": "c"]), fallbackHost: fallback).host == "c")
    }

    @Test func ipv6Hosts() {
        #expect(DocsPage.publicAddress(headers: headers(["Host": "[2001:db8::1]:8443"]), fallbackHost: fallback).host == "[2001:db8::1]:8443")
    }

    @Test(arguments: ["<script>", "a\"b", "a'b", "a b", "evil.com/path", "a@b", "a&b", "zoë.com", "a\\b", "a\tb", "a;b", "a?b", "a#b", "h%20"])
    func hostileHostsFallBack(host: String) {
        #expect(DocsPage.publicAddress(headers: headers(["Host": host]), fallbackHost: fallback).host == fallback, "\(host)")
        #expect(DocsPage.publicAddress(headers: headers(["X-Forwarded-Host": host, "Host": "ok"]), fallbackHost: fallback).host != host)
    }

    @Test func pageFromForwardedHeaders() {
        let address = DocsPage.publicAddress(headers: headers(["X-Forwarded-Proto": "https", "X-Forwarded-Host": "c.example.org"]), fallbackHost: fallback)
        let html = DocsPage(secure: address.secure, host: address.host, user: nil).html
        #expect(html.contains("curl https://c.example.org/docs/agent"))
        #expect(html.contains("wsproxy wss://c.example.org/client/ID"))
        #expect(!html.contains(fallback))
    }
}

@Suite struct DocsPageJumpTests {
    private let jump = DocsPage.Jump(port: 2222, publicKeyLine: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey", fingerprint: "SHA256:abc")

    @Test func putsSshJFirstWithThisHostAndAPinnableKey() {
        var page = DocsPage(secure: true, host: "converge.example.com", user: "ci")
        page.jump = jump
        let html = page.html
        #expect(html.contains("ssh -J converge.example.com:2222 ci@ID"))
        #expect(html.contains("sftp -J converge.example.com:2222 ci@ID"))
        #expect(html.contains("scp -J converge.example.com:2222 FILE ci@ID:"))
        #expect(html.contains("[converge.example.com]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey"))
        #expect(html.contains("SHA256:abc"))
        #expect(html.contains("ProxyJump converge"))
        let beforeWsproxy = html.split(separator: "ProxyCommand=\"wsproxy", maxSplits: 1)[0]
        #expect(beforeWsproxy.contains("ssh -J converge.example.com:2222"))
    }

    @Test func dropsTheHttpPortAndTheBracketsOnPort22() {
        var page = DocsPage(secure: false, host: "10.0.0.5:8000", user: nil)
        page.jump = DocsPage.Jump(port: 22, publicKeyLine: jump.publicKeyLine, fingerprint: jump.fingerprint)
        let html = page.html
        #expect(html.contains("ssh -J 10.0.0.5 USER@ID"))
        #expect(html.contains("<code>10.0.0.5 ssh-ed25519 "))
        #expect(!html.contains("10.0.0.5:8000 USER@ID"))
    }

    @Test func withoutAJumpHostThereIsNoSshJ() {
        #expect(!DocsPage(secure: false, host: "h:8000", user: nil).html.contains("ssh -J"))
    }
}
