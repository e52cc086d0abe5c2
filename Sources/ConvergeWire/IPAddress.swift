import Glibc

/// A numeric IPv4 or IPv6 address, parsed strictly (inet_pton) and printed canonically
/// (inet_ntop), so `2001:DB8::1` and `2001:db8:0::1` are the same client for the limits.
/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.7`, what a dual-stack socket reports)
/// is the IPv4 address.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6), network order.
    public let bytes: [UInt8]

    public init?(parsing text: some StringProtocol) {
        let text = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let raw = withUnsafeBytes(of: &v6) { Array($0) }
        let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
        bytes = Array(raw.prefix(12)) == mappedPrefix ? Array(raw.suffix(4)) : raw
    }

    public var isIPv4: Bool { bytes.count == 4 }

    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isIPv4 ? AF_INET : AF_INET6
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) }
        return text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// An address with a prefix length (`10.0.0.0/8`, `fd00::/8`); a plain address is a
/// network of one.
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public let address: IPAddress
    public let prefixLength: Int

    public init(parsing text: String) throws(ParseError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parsing: parts[0]) else {
            throw ParseError(description: "\"\(text)\" is not an IPv4 or IPv6 address (or ADDRESS/PREFIX)")
        }
        let bits = address.bytes.count * 8
        var prefixLength = bits
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy({ $0 >= "0" && $0 <= "9" }), let n = Int(parts[1]), n <= bits else {
                throw ParseError(description: "\"\(text)\": the prefix length must be 0 to \(bits)")
            }
            prefixLength = n
        }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// True when `other` is of the same family and shares the first `prefixLength` bits.
    public func contains(_ other: IPAddress) -> Bool {
        guard other.bytes.count == address.bytes.count else { return false }
        var left = prefixLength
        for (a, b) in zip(address.bytes, other.bytes) where left > 0 {
            let mask: UInt8 = left >= 8 ? 0xFF : ~(0xFF >> UInt8(left))
            if a & mask != b & mask { return false }
            left -= 8
        }
        return true
    }

    public var description: String {
        prefixLength == address.bytes.count * 8 ? "\(address)" : "\(address)/\(prefixLength)"
    }
}
