/// A FIFO of bytes for data that could not be written yet (a full pipe, a closed window).
/// Consumed bytes are dropped from the front lazily, so partial writes stay cheap.
struct ByteQueue {
    private var storage: [UInt8] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthIt()
        storage.append(contentsOf: bytes)
    }

    mutating func append(_ bytes: [UInt8]) {
        compactIfWorthIt()
        storage.append(contentsOf: bytes)
    }

    /// A copy of up to `max` bytes from the front (copied so that the caller may hand
    /// them to libssh, which can call back into code that touches this queue).
    func peek(max: Int) -> [UInt8] {
        Array(storage[head..<(head + Swift.min(max, count))])
    }

    /// Lends the readable bytes to `body` (for syscalls only: nothing that re-enters).
    func withFront<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[head...])) }
    }

    mutating func removeFirst(_ n: Int) {
        head += Swift.min(n, count)
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= 1 << 20)
            head = 0
        }
    }

    mutating func removeAll() {
        storage.removeAll()
        head = 0
    }

    private mutating func compactIfWorthIt() {
        if head > 0 && head >= storage.count / 2 {
            storage.removeFirst(head)
            head = 0
        }
    }
}
