import Testing
@testable import ConvergeServer

@Suite struct AgentTokensTests {
    @Test func acceptsListedTokensOnly() throws {
        let tokens = try AgentTokens(parsing: "# ours\n\n  first-token-0123456789  \r\nsecond-token-0123456789\n")
        #expect(tokens.accepts("first-token-0123456789"))
        #expect(tokens.accepts("second-token-0123456789"))
        #expect(!tokens.accepts("first-token-012345678"))
        #expect(!tokens.accepts("first-token-01234567890"))
        #expect(!tokens.accepts(""))
        #expect(!tokens.accepts(nil))
    }

    @Test func rejectsShortTokensWithTheLineNumber() {
        #expect(throws: AgentTokens.FormatError.self) { try AgentTokens(parsing: "good-token-0123456789\nshort\n") }
        do {
            _ = try AgentTokens(parsing: "good-token-0123456789\nshort\n")
        } catch {
            #expect(error.description.hasPrefix("line 2:"))
        }
    }

    @Test func rejectsAFileWithoutTokens() {
        #expect(throws: AgentTokens.FormatError.self) { try AgentTokens(parsing: "# nothing here\n\n") }
    }
}
