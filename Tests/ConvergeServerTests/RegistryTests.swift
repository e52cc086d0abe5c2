import Testing
@testable import ConvergeServer

private let key = "K3yOfTheFirstAgent0123456789abcdefgh"
private let otherKey = "AnotherAgentsKey0123456789abcdefghij"

@Suite struct RegistryTests {
    @Test func unknownIDIs404() {
        var registry = Registry()
        #expect(registry.connectClient(id: "nobody", connection: 1, now: 0) == .unknown)
        #expect(!registry.isRegistered("nobody"))
        #expect(registry.idCount == 0)
    }

    @Test func offeredConnectionIsPairedWithAClient() {
        var registry = Registry()
        #expect(registry.offer(id: "job", key: key, connection: 10, now: 0) == .offered)
        #expect(registry.isRegistered("job") && registry.idCount == 1 && registry.offerCount == 1)
        #expect(registry.connectClient(id: "job", connection: 20, now: 1) == .paired(agent: 10))
        #expect(registry.offerCount == 0)
        #expect(registry.isRegistered("job"))
    }

    @Test func offersArePairedFirstInFirstOut() {
        var registry = Registry()
        for c in 10..<13 { #expect(registry.offer(id: "job", key: key, connection: c, now: 0) == .offered) }
        #expect(registry.connectClient(id: "job", connection: 20, now: 1) == .paired(agent: 10))
        #expect(registry.connectClient(id: "job", connection: 21, now: 1) == .paired(agent: 11))
        #expect(registry.connectClient(id: "job", connection: 22, now: 1) == .paired(agent: 12))
        #expect(registry.offerCount == 0)
        #expect(registry.connectClient(id: "job", connection: 23, now: 1) == .waiting)
    }

    @Test func clientWaitsWhileTheAgentReoffers() {
        var registry = Registry()
        _ = registry.offer(id: "job", key: key, connection: 10, now: 0)
        #expect(registry.connectClient(id: "job", connection: 20, now: 1) == .paired(agent: 10))
        #expect(registry.connectClient(id: "job", connection: 21, now: 2) == .waiting)
        #expect(registry.connectClient(id: "job", connection: 22, now: 3) == .waiting)
        #expect(registry.offer(id: "job", key: key, connection: 11, now: 4) == .paired(client: 21))
        #expect(registry.offer(id: "job", key: key, connection: 12, now: 5) == .paired(client: 22))
        #expect(registry.offerCount == 0)
        #expect(registry.offer(id: "job", key: key, connection: 13, now: 6) == .offered)
        #expect(registry.offerCount == 1)
    }

    @Test func waitingClientsExpireAfterClientWait() {
        var registry = Registry()
        _ = registry.offer(id: "job", key: key, connection: 10, now: 0)
        _ = registry.connectClient(id: "job", connection: 20, now: 0)
        #expect(registry.connectClient(id: "job", connection: 21, now: 1) == .waiting)
        #expect(registry.connectClient(id: "job", connection: 22, now: 5) == .waiting)
        #expect(registry.expire(now: 10.9) == [])
        #expect(registry.expire(now: 11) == [21])
        #expect(registry.expire(now: 14.9) == [])
        #expect(registry.expire(now: 15) == [22])
        // An expired client is not paired later.
        #expect(registry.offer(id: "job", key: key, connection: 11, now: 14) == .offered)
    }

    @Test func recordIsForgottenAfterTheGracePeriod() {
        var registry = Registry()
        _ = registry.offer(id: "job", key: key, connection: 10, now: 100)
        _ = registry.connectClient(id: "job", connection: 20, now: 100)
        #expect(registry.expire(now: 114.9) == [])
        #expect(registry.isRegistered("job"))
        #expect(registry.expire(now: 115) == [])
        #expect(!registry.isRegistered("job"))
        #expect(registry.idCount == 0)
        #expect(registry.connectClient(id: "job", connection: 21, now: 116) == .unknown)
    }

    @Test func recordWithAnOfferIsKeptForever() {
        var registry = Registry()
        _ = registry.offer(id: "job", key: key, connection: 10, now: 0)
        #expect(registry.expire(now: 1_000_000) == [])
        #expect(registry.isRegistered("job"))
    }

    @Test func recordWithAWaitingClientIsKeptUntilItExpires() {
        var registry = Registry()
        _ = registry.offer(id: "job", key: key, connection: 10, now: 0)
        _ = registry.connectClient(id: "job", connection: 20, now: 0)
        #expect(registry.connectClient(id: "job", connection: 21, now: 14) == .waiting)
        #expect(registry.expire(now: 20) == [])
        #expect(registry.isRegistered("job"), "the client still waits, past the grace period")
        #expect(registry.expire(now: 24) == [21])
        #expect(!registry.isRegistered("job"))
    }

    @Test func anotherKeyIsAConflict() {
        var registry = Registry()
        _ = registry.offer(id: "job", key: key, connection: 10, now: 0)
        #expect(registry.offer(id: "job", key: otherKey, connection: 11, now: 1) == .conflict)
        #expect(registry.offerCount == 1)
        // Still a conflict while the owner re-offers within the grace period.
        _ = registry.connectClient(id: "job", connection: 20, now: 2)
        #expect(registry.offer(id: "job", key: otherKey, connection: 12, now: 16.9) == .conflict)
        // The conflicting offer did not pair a waiting client.
        #expect(registry.connectClient(id: "job", connection: 21, now: 3) == .waiting)
        #expect(registry.offer(id: "job", key: otherKey, connection: 13, now: 4) == .conflict)
        #expect(registry.offer(id: "job", key: key, connection: 14, now: 5) == .paired(client: 21))
    }

    @Test func idIsFreeAgainOnceForgotten() {
        var registry = Registry()
        _ = registry.offer(id: "job", key: key, connection: 10, now: 0)
        _ = registry.connectClient(id: "job", connection: 20, now: 0)
        _ = registry.expire(now: 15)
        #expect(registry.offer(id: "job", key: otherKey, connection: 11, now: 16) == .offered)
        #expect(registry.offer(id: "job", key: key, connection: 12, now: 17) == .conflict)
    }

    @Test func agentThatLostItsConnectionGetsItsIDBack() {
        var registry = Registry()
        _ = registry.offer(id: "job", key: key, connection: 10, now: 0)
        _ = registry.connectClient(id: "job", connection: 20, now: 1)
        _ = registry.offer(id: "job", key: key, connection: 11, now: 2)
        registry.withdrawOffer(id: "job", connection: 11, now: 3)
        #expect(registry.offerCount == 0)
        #expect(registry.isRegistered("job"), "paired 2 s ago: kept for the grace period")
        #expect(registry.offer(id: "job", key: otherKey, connection: 12, now: 4) == .conflict)
        #expect(registry.offer(id: "job", key: key, connection: 13, now: 4) == .offered)
    }

    @Test func neverPairedAgentIsForgottenWhenItsOfferCloses() {
        var registry = Registry()
        _ = registry.offer(id: "job", key: key, connection: 10, now: 0)
        _ = registry.offer(id: "job", key: key, connection: 11, now: 0)
        registry.withdrawOffer(id: "job", connection: 10, now: 1)
        #expect(registry.isRegistered("job") && registry.offerCount == 1)
        registry.withdrawOffer(id: "job", connection: 11, now: 1)
        #expect(!registry.isRegistered("job") && registry.offerCount == 0)
        #expect(registry.connectClient(id: "job", connection: 20, now: 2) == .unknown)
    }

    @Test func withdrawingUnknownConnectionsChangesNothing() {
        var registry = Registry()
        _ = registry.offer(id: "job", key: key, connection: 10, now: 0)
        registry.withdrawOffer(id: "job", connection: 99, now: 1)
        registry.withdrawOffer(id: "other", connection: 10, now: 1)
        registry.withdrawClient(id: "other", connection: 10, now: 1)
        registry.withdrawClient(id: "job", connection: 10, now: 1)
        #expect(registry.offerCount == 1 && registry.isRegistered("job"))
        #expect(registry.connectClient(id: "job", connection: 20, now: 2) == .paired(agent: 10))
        // A paired offer is no longer withdrawable.
        registry.withdrawOffer(id: "job", connection: 10, now: 3)
        #expect(registry.offerCount == 0)
    }

    @Test func clientThatLeftIsNotPaired() {
        var registry = Registry()
        _ = registry.offer(id: "job", key: key, connection: 10, now: 0)
        _ = registry.connectClient(id: "job", connection: 20, now: 0)
        #expect(registry.connectClient(id: "job", connection: 21, now: 1) == .waiting)
        #expect(registry.connectClient(id: "job", connection: 22, now: 1) == .waiting)
        registry.withdrawClient(id: "job", connection: 21, now: 2)
        #expect(registry.offer(id: "job", key: key, connection: 11, now: 3) == .paired(client: 22))
        #expect(registry.offer(id: "job", key: key, connection: 12, now: 3) == .offered)
        #expect(registry.expire(now: 100) == [])
    }

    @Test func lastClientLeavingAfterGraceForgetsTheRecord() {
        var registry = Registry()
        _ = registry.offer(id: "job", key: key, connection: 10, now: 0)
        _ = registry.connectClient(id: "job", connection: 20, now: 0)
        #expect(registry.connectClient(id: "job", connection: 21, now: 14) == .waiting)
        registry.withdrawClient(id: "job", connection: 21, now: 16)
        #expect(!registry.isRegistered("job"))
    }

    @Test func perIDOfferLimit() {
        var limits = Registry.Limits()
        limits.maxOffersPerID = 2
        var registry = Registry(limits: limits)
        #expect(registry.offer(id: "a", key: key, connection: 1, now: 0) == .offered)
        #expect(registry.offer(id: "a", key: key, connection: 2, now: 0) == .offered)
        #expect(registry.offer(id: "a", key: key, connection: 3, now: 0) == .full(perID: true))
        #expect(registry.offer(id: "b", key: otherKey, connection: 4, now: 0) == .offered)
        #expect(registry.offerCount == 3)
        // A waiting client is still paired when the ID is at its limit.
        _ = registry.connectClient(id: "a", connection: 10, now: 1)
        _ = registry.connectClient(id: "a", connection: 11, now: 1)
        #expect(registry.connectClient(id: "a", connection: 12, now: 1) == .waiting)
        #expect(registry.offer(id: "a", key: key, connection: 5, now: 1) == .paired(client: 12))
    }

    @Test func totalOfferLimit() {
        var limits = Registry.Limits()
        limits.maxOffers = 3
        var registry = Registry(limits: limits)
        for (i, id) in ["a", "b", "c"].enumerated() {
            #expect(registry.offer(id: id, key: key, connection: i, now: 0) == .offered)
        }
        #expect(registry.offer(id: "d", key: key, connection: 9, now: 0) == .full(perID: false))
        #expect(!registry.isRegistered("d"), "a refused agent does not claim the ID")
        #expect(registry.offer(id: "a", key: key, connection: 8, now: 0) == .full(perID: false))
        registry.withdrawOffer(id: "b", connection: 1, now: 1)
        #expect(registry.offer(id: "d", key: otherKey, connection: 9, now: 1) == .offered)
        #expect(registry.offerCount == 3 && registry.idCount == 3)
    }

    @Test func defaultLimitsMatchTheProtocol() {
        let limits = Registry.Limits()
        #expect(limits.clientWait == 10)
        #expect(limits.reofferGrace == 15)
    }

    @Test func idsAreIndependent() {
        var registry = Registry()
        _ = registry.offer(id: "a", key: key, connection: 1, now: 0)
        _ = registry.offer(id: "b", key: otherKey, connection: 2, now: 0)
        #expect(registry.connectClient(id: "b", connection: 10, now: 1) == .paired(agent: 2))
        #expect(registry.connectClient(id: "a", connection: 11, now: 1) == .paired(agent: 1))
        #expect(registry.connectClient(id: "A", connection: 12, now: 1) == .unknown)
    }

    @Test func expireReturnsClientsOfEveryID() {
        var registry = Registry()
        for (i, id) in ["a", "b", "c"].enumerated() {
            _ = registry.offer(id: id, key: key, connection: i, now: 0)
            _ = registry.connectClient(id: id, connection: 100 + i, now: 0)
            #expect(registry.connectClient(id: id, connection: 200 + i, now: 1) == .waiting)
        }
        #expect(registry.expire(now: 11).sorted() == [200, 201, 202])
        #expect(registry.idCount == 3)
        _ = registry.expire(now: 15)
        #expect(registry.idCount == 0)
    }
}

@Suite struct RegistryWaitingCountTests {
    @Test func waitingClientsAreCountedPerID() {
        var registry = Registry()
        #expect(registry.waitingCount("job") == 0)
        _ = registry.offer(id: "job", key: key, connection: 10, now: 0)
        _ = registry.connectClient(id: "job", connection: 20, now: 1)  // paired
        #expect(registry.connectClient(id: "job", connection: 21, now: 2) == .waiting)
        #expect(registry.connectClient(id: "job", connection: 22, now: 2) == .waiting)
        #expect(registry.waitingCount("job") == 2)
        registry.withdrawClient(id: "job", connection: 21, now: 3)
        #expect(registry.waitingCount("job") == 1)
        #expect(registry.waitingCount("other") == 0)
    }

    @Test func forgottenIDsAreReportedOnce() {
        var registry = Registry()
        _ = registry.offer(id: "job", key: "k", connection: 1, now: 0)
        #expect(registry.takeForgotten().isEmpty)
        registry.withdrawOffer(id: "job", connection: 1, now: 1)
        #expect(registry.takeForgotten() == ["job"])
        #expect(registry.takeForgotten().isEmpty)
        _ = registry.offer(id: "paired", key: "k", connection: 2, now: 0)
        _ = registry.connectClient(id: "paired", connection: 3, now: 0)
        _ = registry.expire(now: 1)
        #expect(registry.takeForgotten().isEmpty, "kept during the re-offer grace")
        _ = registry.expire(now: 100)
        #expect(registry.takeForgotten() == ["paired"])
    }
}
