import ConvergeNet
import SystemPackage

/// A `ByteStream` that hands out scripted bytes in the given chunks, then end of stream;
/// what is written to it is kept. It never says "would block", so nothing polls its
/// (invalid) descriptors: dialers and connections run against it without a socket.
public final class ScriptedStream: ByteStream {
    private var chunks: [ArraySlice<UInt8>]
    public private(set) var written: [UInt8] = []

    public init(_ chunks: [ArraySlice<UInt8>]) { self.chunks = chunks.reversed() }

    public var readFD: FileDescriptor { FileDescriptor(rawValue: -1) }
    public var writeFD: FileDescriptor { FileDescriptor(rawValue: -1) }
    public var hasBufferedInput: Bool { false }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(NetError) -> StreamIO {
        guard var chunk = chunks.popLast(), !chunk.isEmpty, buffer.count > 0 else { return .end }
        let n = min(chunk.count, buffer.count)
        chunk.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<n])) }
        chunk = chunk.dropFirst(n)
        if !chunk.isEmpty { chunks.append(chunk) }
        return .bytes(n)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(NetError) -> StreamIO {
        written += bytes
        return .bytes(bytes.count)
    }

    public func shutdownWrite() {}
    public func close() {}
}
