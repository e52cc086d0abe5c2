/// The fuzzer's bytes, read from the front: a few bytes choose how a parser is driven
/// (mode, limits, where to split the stream), the rest is what the parser reads.
/// Reading past the end yields zeros, so every input is usable.
public struct FuzzInput {
    private var bytes: ArraySlice<UInt8>

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = size > 0 && data != nil ? ArraySlice(UnsafeBufferPointer(start: data, count: size)) : []
    }

    public init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    public mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }

    public mutating func bool() -> Bool { byte() & 1 == 1 }

    /// A big-endian 16-bit number.
    public mutating func uint16() -> Int { Int(byte()) << 8 | Int(byte()) }

    /// One of `choices`, picked by the next byte.
    public mutating func pick<T>(_ choices: [T]) -> T { choices[Int(byte()) % choices.count] }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        defer { bytes = [] }
        return Array(bytes)
    }

    /// The rest as text, the way the programs read files and headers (invalid UTF-8 repaired).
    public mutating func restAsText() -> String { String(decoding: rest(), as: UTF8.self) }
}

/// Chunk sizes for feeding a stream in pieces, as reads from a socket would deliver it:
/// `count` bytes of the input each give one size (1...256), used in turn.
public struct Splits {
    private let sizes: [Int]
    private var next = 0

    public init(from input: inout FuzzInput, count: Int = 4) {
        sizes = (0..<count).map { _ in Int(input.byte()) + 1 }
    }

    /// The size of the next chunk.
    public mutating func size() -> Int {
        defer { next = (next + 1) % sizes.count }
        return sizes[next]
    }

    /// `bytes` cut into chunks.
    public mutating func chunks(of bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + size())
            out.append(bytes[start..<end])
            start = end
        }
        return out
    }
}

/// An invariant of the code under test. A broken one aborts, which libFuzzer reports
/// as a crash with the input that caused it.
public func require(_ condition: Bool, _ message: @autoclosure () -> String,
                    file: StaticString = #fileID, line: UInt = #line) {
    guard !condition else { return }
    fatalError("invariant broken: \(message())", file: file, line: line)
}

/// A value escaped for a log line stays on that line: printable ASCII only.
public func requireLoggable(_ text: String, file: StaticString = #fileID, line: UInt = #line) {
    require(text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "log text '\(text)' is not printable ASCII", file: file, line: line)
}
