import Testing
@testable import ConvergeServer

@Suite struct ConnectionsPerAddressTests {
    @Test func admitsUpToTheLimitAndAgainOnceOneCloses() {
        var table = ConnectionsPerAddress()
        for _ in 0..<3 { table.opened("192.0.2.1") }
        #expect(!table.admits("192.0.2.1", limit: 3))
        #expect(table.admits("2001:db8::1", limit: 3))  // another address has its own count
        table.closed("192.0.2.1")
        #expect(table.admits("192.0.2.1", limit: 3) && table.count("192.0.2.1") == 2)
    }

    @Test func holdsOnlyAddressesInUse() {
        var table = ConnectionsPerAddress()
        table.opened("192.0.2.1")
        table.closed("192.0.2.1")
        table.closed("192.0.2.1")  // one close too many does not go negative
        #expect(table.count("192.0.2.1") == 0 && table.addressCount == 0)
    }
}
