import ConvergeWire
import Testing
@testable import ConvergeAgent

@Suite struct IDClashTests {
    @Test func aFreshIDIsDerivedFromTheOneAskedFor() {
        var clash = IDClash(wanted: "run-1234")
        let fresh = clash.freshID { _ in [0x3f, 0x9a] }
        #expect(fresh == "run-1234-3f9a")
        #expect(RendezvousID.isValid(fresh!))
    }

    @Test func aLongIDIsShortenedToStayValid() {
        let long = String(repeating: "a", count: 64)
        let fresh = IDClash.derive(from: long, suffix: IDClash.suffix([0, 255]))
        #expect(fresh == String(repeating: "a", count: 59) + "-00ff")
        #expect(fresh.count == RendezvousID.maxLength && RendezvousID.isValid(fresh))
    }

    @Test func triesAreBounded() {
        var clash = IDClash(wanted: "x")
        for _ in 0..<IDClash.maxTries {
            let fresh = clash.freshID { _ in [1, 2] }
            #expect(fresh == "x-0102")
        }
        let tooMany = clash.freshID { _ in [1, 2] }
        #expect(tooMany == nil)
    }

    @Test func theNoticeAndTheBannerSayWhichIDToUse() throws {
        #expect(IDClash.notice(wanted: "a", taken: "a-0001") == "*** ID a is held by another agent: this agent registers as a-0001 instead; connect to a-0001 ***")
        let banner = AgentBanner(id: "a-0001", wantedID: "a", server: try ServerURL(parsing: "ws://h:1"), hostKey: try SSHHostKey.generate(),
                                 serverUser: nil, keyCount: 1, hasAgentPassword: false, jump: nil)
        #expect(banner.lines[0] == "agent ready: ID a-0001 is registered at ws://h:1 (a is held by another agent)")
    }
}
