@testable import ConvergeClient
import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage
import Testing

/// HTTPFetch's parsing of what a keys server answers (found by Fuzz/fuzz-http-response
/// and fuzz-urls).
@Suite struct HTTPFetchTests {
    let base = try! ServerURL(parsing: "https://keys.example:8443/octocat.keys", schemes: ["https", "http"])
    var fetch: HTTPFetch { HTTPFetch(url: base, proxies: ProxySettings()) }

    @Test func redirectToAPathStaysOnTheServer() throws {
        let next = try fetch.resolve("/users/octocat.keys?v=2#top", against: base)
        #expect(next.description == "https://keys.example:8443/users/octocat.keys?v=2")
    }

    @Test func redirectToAPathWithBytesARequestLineCannotCarryIsRefused() {
        for location in ["/a b", "/\u{93}\n", "/tab\there"] {
            #expect(throws: DialError.self) { try fetch.resolve(location, against: base) }
        }
    }
}

/// HTTPFetch's reading of an answer, over a socketpair whose peer sends `answer`.
@Suite struct HTTPFetchAnswerTests {
    let url = try! ServerURL(parsing: "http://keys.example/octocat.keys", schemes: ["https", "http"])

    func body(of answer: String) throws(DialError) -> [UInt8]? {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { fatalError("socketpair") }
        defer { close(fds[0]); close(fds[1]) }
        writeText(fds[1], answer)
        shutdown(fds[1], Int32(SHUT_WR))
        let fetch = HTTPFetch(url: url, proxies: ProxySettings())
        guard case .body(let body) = try fetch.exchange(over: FileStream(FileDescriptor(rawValue: fds[0])), target: url,
                                                       deadline: Clock.monotonic() + 5) else { return nil }
        return body
    }

    @Test func contentLengthAndChunkedBodies() throws {
        #expect(try body(of: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef") == Array("abc".utf8))
        #expect(try body(of: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1;x\r\nc\r\n0\r\n\r\n") == Array("abc".utf8))
    }

    @Test func negativeContentLengthIsRefused() {
        // Found by Fuzz/fuzz-http-response: the body was cut to a negative length (a trap).
        #expect(throws: DialError.self) { try body(of: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc") }
    }

    @Test func hugeChunkSizeIsNotAnOverflow() {
        // Found by Fuzz/fuzz-http-response: start + size overflowed for a size near Int.max.
        #expect(throws: DialError.self) {
            try body(of: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\nab")
        }
    }
}
