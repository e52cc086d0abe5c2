import Testing
@testable import ConvergeServer

private func decodes(_ bytes: [UInt8]) -> Bool {
    (try? HandOff(decoding: bytes[...])) != nil
}

@Suite struct HandOffTests {
    @Test func roundTrips() throws {
        let samples = [
            HandOff(id: "job-1", clientPeer: "203.0.113.7:51234", clientBytes: [0x82, 0x85, 1, 2, 3], agentBytes: []),
            HandOff(id: "", clientPeer: "", clientBytes: [], agentBytes: []),
            HandOff(id: String(repeating: "z", count: 64), clientPeer: "[2001:db8::1]:443",
                    clientBytes: (0...255).map { UInt8($0) }, agentBytes: [UInt8](repeating: 0, count: 70_000)),
        ]
        for handOff in samples {
            let bytes = handOff.encoded
            #expect(bytes.count == 16 + handOff.id.utf8.count + handOff.clientPeer.utf8.count + handOff.clientBytes.count + handOff.agentBytes.count)
            #expect(try HandOff(decoding: bytes[...]) == handOff)
            // From a slice that does not start at 0.
            #expect(try HandOff(decoding: ([7, 7, 7] + bytes)[3...]) == handOff)
        }
    }

    @Test func wireLayout() {
        let bytes = HandOff(id: "ab", clientPeer: "c", clientBytes: [9], agentBytes: [8, 7]).encoded
        #expect(bytes == [0, 0, 0, 2, 0x61, 0x62, 0, 0, 0, 1, 0x63, 0, 0, 0, 1, 9, 0, 0, 0, 2, 8, 7])
    }

    @Test func everyTruncationIsRejected() {
        let bytes = HandOff(id: "job", clientPeer: "1.2.3.4:5", clientBytes: [1, 2, 3], agentBytes: [4, 5]).encoded
        for cut in 0..<bytes.count {
            #expect(!decodes(Array(bytes[..<cut])), "cut at \(cut)")
        }
        #expect(decodes(bytes))
    }

    @Test func trailingBytesAreRejected() {
        let bytes = HandOff(id: "job", clientPeer: "p", clientBytes: [], agentBytes: []).encoded
        #expect(!decodes(bytes + [0]))
        #expect(!decodes(bytes + bytes))
    }

    @Test func hugeLengthsAreRejectedNotTrusted() {
        #expect(!decodes([0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]))
        #expect(!decodes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0]))
    }
}

@Suite struct WorkerReportTests {
    @Test func linesRoundTrip() {
        let samples = [
            WorkerReport(clientToAgent: 0, agentToClient: 0),
            WorkerReport(clientToAgent: 12345, agentToClient: UInt64.max),
            WorkerReport(clientToAgent: 1, agentToClient: 2, endReason: "client closed"),
            WorkerReport(clientToAgent: 1, agentToClient: 2, endReason: "agent sent close 1000"),
        ]
        for report in samples {
            #expect(WorkerReport(line: report.line) == report, "\(report.line)")
        }
    }

    @Test func lineFormat() {
        #expect(WorkerReport(clientToAgent: 3, agentToClient: 4).line == "bytes 3 4")
        #expect(WorkerReport(clientToAgent: 3, agentToClient: 4, endReason: "eof").line == "end 3 4 eof")
    }

    @Test func endWithoutReasonMeansClosed() {
        #expect(WorkerReport(line: "end 5 6") == WorkerReport(clientToAgent: 5, agentToClient: 6, endReason: "closed"))
    }

    @Test(arguments: ["", "bytes", "bytes 1", "bytes 1 2 3", "bytes -1 2", "bytes 1 x", "end x 2 r", "start 1 2",
                      "BYTES 1 2", "bytes 18446744073709551616 0", "bytes 1.5 2", "end"])
    func malformedLinesAreNil(line: String) {
        #expect(WorkerReport(line: line) == nil, "\(line)")
    }
}
