@testable import ConvergeWire

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

extension Array where Element == UInt8 {
    init(ascii text: String) { self = Array(text.utf8) }
}

/// RFC 6455 §5.3, byte by byte: what every masking shortcut must agree with.
func referenceMask(_ bytes: [UInt8], key: UInt32, phase: Int = 0) -> [UInt8] {
    let keyBytes: [UInt8] = [UInt8(key >> 24), UInt8(key >> 16 & 0xFF), UInt8(key >> 8 & 0xFF), UInt8(key & 0xFF)]
    return bytes.enumerated().map { $0.element ^ keyBytes[($0.offset + phase) % 4] }
}
