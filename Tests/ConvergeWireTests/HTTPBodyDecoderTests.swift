@testable import ConvergeWire
import Testing

@Suite struct HTTPBodyDecoderTests {
    func decoder(_ fields: [(String, String)], limit: Int = 4096) throws(HTTPBodyError) -> HTTPBodyDecoder {
        try HTTPBodyDecoder(headers: HTTPHeaders(fields.map { (name: $0.0, value: $0.1) }), limit: limit)
    }

    let chunked = [("Transfer-Encoding", "chunked")]

    @Test func framingComesFromTheHeaders() throws {
        #expect(try decoder([("Content-Length", "3")]).framing == .contentLength(3))
        #expect(try decoder(chunked).framing == .chunked)
        #expect(try decoder([("Transfer-Encoding", "gzip, Chunked"), ("Content-Length", "3")]).framing == .chunked)
        #expect(try decoder([]).framing == .untilClose)
        #expect(try decoder([("Content-Length", "x")]).framing == .untilClose)
    }

    @Test func contentLengthCutsTheBody() throws {
        let d = try decoder([("Content-Length", "3")])
        #expect(try d.decode(Array(ascii: "ab"), ended: false) == .needsMore)
        #expect(try d.decode(Array(ascii: "abcdef"), ended: false) == .body(Array(ascii: "abc")))
        #expect(throws: HTTPBodyError(.truncated, "the connection closed before the whole answer arrived")) {
            try d.decode(Array(ascii: "ab"), ended: true)
        }
        #expect(try decoder([("Content-Length", "0")]).decode([], ended: false) == .body([]))
    }

    @Test func withoutFramingTheBodyEndsWithTheConnection() throws {
        let d = try decoder([])
        #expect(try d.decode(Array(ascii: "abc"), ended: false) == .needsMore)
        #expect(try d.decode(Array(ascii: "abc"), ended: true) == .body(Array(ascii: "abc")))
    }

    @Test func chunkedBodies() throws {
        let d = try decoder(chunked)
        let whole = Array(ascii: "2\r\nab\r\n1;x=y\r\nc\r\n 10 \r\n0123456789abcdef\r\n0\r\n\r\n")
        #expect(try d.decode(whole, ended: false) == .body(Array(ascii: "abc0123456789abcdef")))
        for cut in 0..<whole.count - 4 {  // everything before the last chunk's size line ends
            #expect(try d.decode(Array(whole[..<cut]), ended: false) == .needsMore, "cut at \(cut)")
        }
        #expect(throws: HTTPBodyError(.truncated, "the connection closed before the whole answer arrived")) {
            try d.decode(Array(ascii: "2\r\nab\r\n"), ended: true)
        }
        // A stray CR before the CRLF of a size line is tolerated.
        #expect(try d.decode(Array(ascii: "1\r\r\nz\r\n0\r\n\r\n"), ended: false) == .body(Array(ascii: "z")))
    }

    @Test func malformedChunkSizes() throws {
        let d = try decoder(chunked)
        for size in ["", "g", "-1", "7fffffffffffffffff", "1 2"] {
            #expect(throws: HTTPBodyError(.malformed, "malformed chunked body"), "\(size)") {
                try d.decode(Array(ascii: "\(size)\r\nab\r\n0\r\n\r\n"), ended: false)
            }
        }
        // Found by Fuzz/fuzz-http-response: start + size overflowed for a size near Int.max.
        #expect(try d.decode(Array(ascii: "7fffffffffffffff\r\nab"), ended: false) == .needsMore)
    }

    @Test func negativeContentLengthIsMalformed() {
        // Found by Fuzz/fuzz-http-response: the body was cut to a negative length (a trap).
        #expect(throws: HTTPBodyError(.malformed, "malformed HTTP answer: negative Content-Length")) {
            try decoder([("Content-Length", "-1")])
        }
        #expect(throws: HTTPBodyError(.malformed, "malformed HTTP answer: negative Content-Length")) {
            try decoder(chunked + [("Content-Length", "-1")])
        }
    }

    @Test func limits() throws {
        let tooLarge = HTTPBodyError(.tooLarge, "the answer is larger than 4 bytes")
        #expect(throws: tooLarge) { try decoder([("Content-Length", "5")], limit: 4) }
        #expect(try decoder([("Content-Length", "4")], limit: 4).decode(Array(ascii: "abcd"), ended: false) == .body(Array(ascii: "abcd")))
        // More bytes than the limit are refused even past a short Content-Length.
        #expect(throws: tooLarge) { try decoder([("Content-Length", "2")], limit: 4).decode(Array(ascii: "abcde"), ended: false) }
        #expect(throws: tooLarge) { try decoder([], limit: 4).decode(Array(ascii: "abcde"), ended: false) }
        // Chunked: the decoded body counts, with some room for the framing.
        let d = try decoder(chunked, limit: 4)
        #expect(try d.decode(Array(ascii: "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n1\r\nd\r\n0\r\n\r\n"), ended: false) == .body(Array(ascii: "abcd")))
        #expect(throws: tooLarge) { try d.decode(Array(ascii: "5\r\nabcde\r\n0\r\n\r\n"), ended: false) }
        #expect(throws: tooLarge) {
            try d.decode(Array(repeating: UInt8(ascii: "0"), count: 4 + HTTPBodyDecoder.chunkOverhead + 1), ended: false)
        }
    }
}
