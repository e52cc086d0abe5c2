import COpenSSL

/// Masking keys for outgoing frames: four fresh random bytes per frame (RFC 6455 §5.3).
///
/// Drawn from OpenSSL's CSPRNG a few KiB at a time, so a key costs a load, not a
/// syscall. (glibc's arc4random would do as well, but it needs glibc 2.36, and the
/// binaries we ship must run on older CI images.) Each relay owns its generator, so no
/// two processes after a fork hand out the same keys: make one after forking.
public struct MaskKeys {
    public init() {}

    private var pool = [UInt32](repeating: 0, count: 1024)
    private var next = 1024

    /// A fresh key.
    public mutating func key() -> UInt32 {
        if next == pool.count {
            let ok = pool.withUnsafeMutableBytes { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32($0.count)) }
            precondition(ok == 1, "OpenSSL RAND_bytes failed")
            next = 0
        }
        defer { next += 1 }
        return pool[next]
    }
}
