import Testing
@testable import ConvergeAgent

@Suite struct AccountKeysTests {
    @Test func keysURLOfAnAccount() throws {
        #expect(try AccountKeys.source(base: AccountKeys.gitHub, user: "octocat", flag: "--github-user")
                == AccountKeys.Source(url: "https://github.com/octocat.keys", flag: "--github-user octocat"))
        #expect(try AccountKeys.source(base: "https://gitlab.example.com//", user: "a.b_c-d", flag: "--gitlab-user").url
                == "https://gitlab.example.com/a.b_c-d.keys")
    }

    @Test func namesThatCouldLeaveThePathAreRefused() {
        for name in ["", "../etc", "a/b", "a?x", "a#b", "a%2f", ".hidden", "-flag", "a b", "ü", String(repeating: "a", count: 256)] {
            #expect(throws: AccountKeys.BadName.self) { try AccountKeys.source(base: AccountKeys.gitHub, user: name, flag: "--github-user") }
        }
    }
}
