import ConvergeWire

/// `--trusted-proxy`: the proxies (nginx...) whose `X-Forwarded-For` names the real
/// client. From anyone else the header is ignored: a client could write any address there.
public struct TrustedProxies: Sendable, Equatable {
    /// A trusted proxy sent an `X-Forwarded-For` we cannot read (answered with 400).
    public struct HeaderError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public let networks: [IPNetwork]

    public init(_ networks: [IPNetwork] = []) { self.networks = networks }

    public var isEmpty: Bool { networks.isEmpty }

    public func trusts(_ address: IPAddress) -> Bool {
        networks.contains { $0.contains(address) }
    }

    /// The client behind `peer`: when `peer` is trusted and forwarded the request, the
    /// rightmost `X-Forwarded-For` address that is not itself a trusted proxy (each proxy
    /// appends the address it saw; everything left of the first untrusted one was written
    /// by the client and is not read). If every address is trusted, the leftmost.
    /// `values` are all the request's X-Forwarded-For headers, in order.
    public func client(peer: IPAddress, forwardedFor values: [String]) throws(HeaderError) -> IPAddress {
        guard trusts(peer), !values.isEmpty else { return peer }
        let elements = values.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
        var client = peer
        for element in elements.reversed() {
            let text = element.trimmingSpaces()
            guard let address = IPAddress(parsing: text) else {
                throw HeaderError(description: "malformed X-Forwarded-For from a trusted proxy: \"\(LogText.escaped(String(text), limit: 64))\" is not an IP address")
            }
            client = address
            if !trusts(address) { break }
        }
        return client
    }
}
