/// What the master sends a splice worker with the two sockets: the session's ID and
/// peers, and the bytes already read past each leg's HTTP head.
struct HandOff: Equatable {
    var id: String
    var clientPeer: String
    var clientBytes: [UInt8]
    var agentBytes: [UInt8]

    struct DecodeError: Error {}

    /// Four length-prefixed fields (32-bit big-endian lengths).
    var encoded: [UInt8] {
        var out: [UInt8] = []
        for field in [Array(id.utf8), Array(clientPeer.utf8), clientBytes, agentBytes] {
            let n = UInt32(field.count)
            out += [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
            out += field
        }
        return out
    }

    init(id: String, clientPeer: String, clientBytes: [UInt8], agentBytes: [UInt8]) {
        self.id = id
        self.clientPeer = clientPeer
        self.clientBytes = clientBytes
        self.agentBytes = agentBytes
    }

    init(decoding bytes: ArraySlice<UInt8>) throws(DecodeError) {
        var rest = bytes
        var fields: [[UInt8]] = []
        for _ in 0..<4 {
            guard rest.count >= 4 else { throw DecodeError() }
            let b = Array(rest.prefix(4))
            let n = Int(UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3]))
            rest = rest.dropFirst(4)
            guard rest.count >= n else { throw DecodeError() }
            fields.append(Array(rest.prefix(n)))
            rest = rest.dropFirst(n)
        }
        guard rest.isEmpty else { throw DecodeError() }
        self.init(id: String(decoding: fields[0], as: UTF8.self), clientPeer: String(decoding: fields[1], as: UTF8.self),
                  clientBytes: fields[2], agentBytes: fields[3])
    }
}

/// What a worker tells the master over its control socket: running totals of bytes
/// relayed (`bytes C A`), and once at the end `end C A reason`.
struct WorkerReport: Equatable {
    var clientToAgent: UInt64
    var agentToClient: UInt64
    /// Set on the final report: why the session ended.
    var endReason: String?

    var line: String {
        if let reason = endReason { return "end \(clientToAgent) \(agentToClient) \(reason)" }
        return "bytes \(clientToAgent) \(agentToClient)"
    }

    init(clientToAgent: UInt64, agentToClient: UInt64, endReason: String? = nil) {
        self.clientToAgent = clientToAgent
        self.agentToClient = agentToClient
        self.endReason = endReason
    }

    init?(line: String) {
        let parts = line.split(separator: " ", maxSplits: 3)
        guard parts.count >= 3, let c = UInt64(parts[1]), let a = UInt64(parts[2]) else { return nil }
        switch parts[0] {
        case "bytes" where parts.count == 3: self.init(clientToAgent: c, agentToClient: a)
        case "end": self.init(clientToAgent: c, agentToClient: a, endReason: parts.count == 4 ? String(parts[3]) : "closed")
        default: return nil
        }
    }
}
