import Testing
@testable import ConvergeAgent

@Suite struct AgentDescriptionTests {
    func env(_ values: [String: String]) -> (String) -> String? { { values[$0] } }

    @Test func jobLinksFromEachCI() {
        #expect(AgentDescription.jobURL(env(["GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "42"]))
                == "https://github.com/o/r/actions/runs/42")
        #expect(AgentDescription.jobURL(env(["CI_JOB_URL": "https://gitlab.example/o/r/-/jobs/7"])) == "https://gitlab.example/o/r/-/jobs/7")
        #expect(AgentDescription.jobURL(env(["BUILD_URL": "https://jenkins.example/job/x/3/"])) == "https://jenkins.example/job/x/3/")
        #expect(AgentDescription.jobURL(env(["GITHUB_REPOSITORY": "o/r"])) == nil)
        #expect(AgentDescription.jobURL(env([:])) == nil)
    }

    @Test func factsAboutThisMachine() {
        let facts = AgentDescription.facts(waitUntil: 1_765_000_000, environment: env([:]))
        #expect(facts.version == AgentDescription.version)
        #expect(facts.host?.isEmpty == false)
        #expect(facts.os?.contains("Linux") == true)
        #expect(facts.user?.isEmpty == false)
        #expect(facts.directory?.hasPrefix("/") == true)
        #expect(facts.waitUntil == 1_765_000_000)
        #expect(facts.jobURL == nil)
    }
}
