import Testing
@testable import ConvergeWire

@Suite struct LogTextTests {
    @Test func printableASCIIIsKept() {
        #expect(LogText.escaped("build-42.job_x ID=abc:1 [ok] {x} ~!") == "build-42.job_x ID=abc:1 [ok] {x} ~!")
        #expect(LogText.escaped("") == "")
    }

    @Test func controlCharactersCannotForgeALine() {
        let hostile = "abc\r\n2026-01-01 converge: agent root registered"
        let escaped = LogText.escaped(hostile)
        #expect(escaped == "abc\\x0d\\x0a2026-01-01 converge: agent root registered")
        #expect(!escaped.contains("\n") && !escaped.contains("\r"))
        #expect(LogText.escaped("\u{0}\t\u{1B}[31m\u{7F}") == "\\x00\\x09\\x1b[31m\\x7f")
    }

    @Test func quotesAndBackslashesAreEscaped() {
        #expect(LogText.escaped("a\"b") == "a\\\"b")
        #expect(LogText.escaped("a\\b") == "a\\\\b")
        // An escaped value cannot end a quoted field early or fake an escape.
        #expect(LogText.escaped("\\x0a") == "\\\\x0a")
    }

    @Test func messagesForPeopleKeepQuotesButNothingElse() {
        #expect(LogText.escaped("ID \"x\" is in use\\", quoting: false) == "ID \"x\" is in use\\")
        #expect(LogText.escaped("a\r\n\u{1B}é", quoting: false) == "a\\x0d\\x0a\\x1b\\xc3\\xa9")
        #expect(LogText.escaped("abcdef", limit: 3, quoting: false) == "abc...")
    }

    @Test func nonASCIIBecomesHexBytes() {
        #expect(LogText.escaped("é") == "\\xc3\\xa9")
        #expect(LogText.escaped("\u{202E}") == "\\xe2\\x80\\xae")  // right-to-left override
        #expect(LogText.escaped([0xFF, 0x41, 0x80] as [UInt8]) == "\\xffA\\x80")
    }

    @Test func longValuesAreCut() {
        #expect(LogText.escaped(String(repeating: "a", count: 200)) == String(repeating: "a", count: 200))
        #expect(LogText.escaped(String(repeating: "a", count: 201)) == String(repeating: "a", count: 200) + "...")
        #expect(LogText.escaped("abcdef", limit: 3) == "abc...")
        #expect(LogText.escaped("abc", limit: 3) == "abc")
        #expect(LogText.escaped("a", limit: 0) == "...")
        #expect(LogText.escaped("", limit: 0) == "")
        // The limit counts input bytes; escapes may make the output longer, but bounded.
        let flood = LogText.escaped(String(repeating: "\n", count: 100_000))
        #expect(flood.count == 200 * 4 + 3)
    }
}
