import Testing
import ConvergeWire
@testable import ConvergeServer

private func ip(_ text: String) -> IPAddress { IPAddress(parsing: text)! }
private func proxies(_ texts: String...) throws -> TrustedProxies {
    TrustedProxies(try texts.map { try IPNetwork(parsing: $0) })
}

@Suite struct IPAddressTests {
    @Test func parsesStrictlyAndPrintsCanonically() {
        #expect(ip("192.0.2.7").description == "192.0.2.7")
        #expect(ip("2001:DB8:0::1").description == "2001:db8::1")
        #expect(ip("2001:db8::1") == ip("2001:0db8:0:0:0:0:0:1"))
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4:80", "[::1]", "::1%lo", "unknown", " 1.2.3.4", "01.2.3.4x"] {
            #expect(IPAddress(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func ipv4MappedIPv6IsTheIPv4Address() {
        #expect(ip("::ffff:127.0.0.1") == ip("127.0.0.1"))
        #expect(ip("::ffff:127.0.0.1").description == "127.0.0.1")
        #expect(ip("::1").isIPv4 == false)
    }
}

@Suite struct IPNetworkTests {
    @Test func plainAddressIsANetworkOfOne() throws {
        let net = try IPNetwork(parsing: "10.1.2.3")
        #expect(net.contains(ip("10.1.2.3")))
        #expect(!net.contains(ip("10.1.2.4")))
        #expect(net.description == "10.1.2.3")
    }

    @Test func cidrMatchesItsPrefixOnly() throws {
        let net = try IPNetwork(parsing: "10.0.0.0/8")
        #expect(net.contains(ip("10.255.1.2")))
        #expect(!net.contains(ip("11.0.0.1")))
        let odd = try IPNetwork(parsing: "192.168.4.0/22")  // a prefix that is not a whole byte
        #expect(odd.contains(ip("192.168.7.255")))
        #expect(!odd.contains(ip("192.168.8.0")))
        #expect(!odd.contains(ip("192.168.3.255")))
        let six = try IPNetwork(parsing: "fd00::/8")
        #expect(six.contains(ip("fd12:3456::1")))
        #expect(!six.contains(ip("fe80::1")))
        #expect(try IPNetwork(parsing: "0.0.0.0/0").contains(ip("203.0.113.9")))
    }

    @Test func familiesNeverMatchEachOther() throws {
        #expect(!(try IPNetwork(parsing: "::/0")).contains(ip("192.0.2.1")))
        #expect(!(try IPNetwork(parsing: "0.0.0.0/0")).contains(ip("::1")))
    }

    @Test func badNetworksAreNamedErrors() {
        for bad in ["", "localhost", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8/8", "10.0.0.0/x"] {
            #expect(throws: IPNetwork.ParseError.self, "\(bad)") { try IPNetwork(parsing: bad) }
        }
        #expect((try? IPNetwork(parsing: "10.0.0.0/33")) == nil)
    }
}

@Suite struct TrustedProxiesTests {
    @Test func withoutTrustTheHeaderIsIgnored() throws {
        let none = TrustedProxies()
        #expect(try none.client(peer: ip("127.0.0.1"), forwardedFor: ["203.0.113.7"]) == ip("127.0.0.1"))
        // An untrusted peer cannot even get a 400 out of a bad header: it is not read.
        let some = try proxies("127.0.0.1")
        #expect(try some.client(peer: ip("198.51.100.1"), forwardedFor: ["203.0.113.7", "garbage"]) == ip("198.51.100.1"))
    }

    @Test func trustedPeerNamesTheRightmostUntrustedAddress() throws {
        let trusted = try proxies("127.0.0.1", "10.0.0.0/8")
        #expect(try trusted.client(peer: ip("127.0.0.1"), forwardedFor: ["203.0.113.7"]) == ip("203.0.113.7"))
        // The client wrote the leftmost two itself; nginx appended what it saw.
        #expect(try trusted.client(peer: ip("127.0.0.1"), forwardedFor: ["1.1.1.1, 10.9.9.9, 203.0.113.7"]) == ip("203.0.113.7"))
        // A chain of trusted proxies is skipped.
        #expect(try trusted.client(peer: ip("127.0.0.1"), forwardedFor: ["1.1.1.1, 203.0.113.7, 10.0.0.2"]) == ip("203.0.113.7"))
        // Several header lines are one list, in order.
        #expect(try trusted.client(peer: ip("127.0.0.1"), forwardedFor: ["198.51.100.4", "10.0.0.3"]) == ip("198.51.100.4"))
        #expect(try trusted.client(peer: ip("::ffff:127.0.0.1"), forwardedFor: [" 2001:DB8::5 "]) == ip("2001:db8::5"))
    }

    @Test func whatLiesLeftOfTheClientIsNotRead() throws {
        let trusted = try proxies("127.0.0.1")
        // nginx appends to whatever the client sent, even garbage or an empty header.
        #expect(try trusted.client(peer: ip("127.0.0.1"), forwardedFor: ["<script>, , 203.0.113.7"]) == ip("203.0.113.7"))
        #expect(try trusted.client(peer: ip("127.0.0.1"), forwardedFor: [", 203.0.113.7"]) == ip("203.0.113.7"))
    }

    @Test func allTrustedMeansTheLeftmost() throws {
        let trusted = try proxies("10.0.0.0/8")
        #expect(try trusted.client(peer: ip("10.0.0.1"), forwardedFor: ["10.0.0.9, 10.0.0.5"]) == ip("10.0.0.9"))
        #expect(try trusted.client(peer: ip("10.0.0.1"), forwardedFor: []) == ip("10.0.0.1"))
    }

    @Test func malformedHeaderFromATrustedProxyIsAnError() throws {
        let trusted = try proxies("127.0.0.1")
        for bad in [["nonsense"], ["203.0.113.7:4711"], ["203.0.113.7,"], [""], ["1.2.3.4", "unknown"]] {
            #expect(throws: TrustedProxies.HeaderError.self, "\(bad)") { try trusted.client(peer: ip("127.0.0.1"), forwardedFor: bad) }
        }
        do {
            _ = try trusted.client(peer: ip("127.0.0.1"), forwardedFor: ["evil\r\nline"])
            Issue.record("a malformed header was accepted")
        } catch {
            #expect(error.description.contains("X-Forwarded-For"))
            #expect(!error.description.contains("\n"))
        }
    }
}

@Suite struct SessionsPerIDTests {
    @Test func countsPerIDAndForgetsEndedOnes() {
        var sessions = SessionsPerID()
        sessions.started("a")
        sessions.started("a")
        sessions.started("b")
        #expect(sessions.count("a") == 2 && sessions.count("b") == 1 && sessions.count("c") == 0)
        sessions.ended("a")
        sessions.ended("b")
        sessions.ended("b")  // an extra end does not go negative
        #expect(sessions.count("a") == 1 && sessions.count("b") == 0)
        #expect(sessions.idCount == 1)
    }

    @Test func admitsUntilRunningPlusWaitingReachTheLimit() {
        var sessions = SessionsPerID()
        #expect(sessions.admits("a", waiting: 0, limit: 2))
        sessions.started("a")
        #expect(sessions.admits("a", waiting: 0, limit: 2))
        #expect(!sessions.admits("a", waiting: 1, limit: 2))  // the waiting client is the second session
        sessions.started("a")
        #expect(!sessions.admits("a", waiting: 0, limit: 2))
        #expect(sessions.admits("b", waiting: 0, limit: 2))  // other IDs are not affected
        sessions.ended("a")
        #expect(sessions.admits("a", waiting: 0, limit: 2))
    }
}
