import CLibSSH
import Glibc
import SystemPackage

/// Moves bytes between one SSH channel and local descriptors without ever blocking the
/// session: client data is written to the local side only as fast as it drains (what
/// does not fit stays in libssh, whose window then stops the client), and local output
/// is read only while the client's window has room. One mechanism for shells, commands,
/// sftp and forwarded TCP connections.
///
/// Callbacks from libssh only record or write to a descriptor; descriptors are closed
/// by the session loop, never from inside a callback.
final class ChannelPump {
    /// How to tell the local side that the client sent EOF.
    enum InputEnd {
        case close          // a pipe to a child's stdin
        case shutdownWrite  // a socket: half-close
        case keepOpen       // a pty master: closing it would hang up the terminal
    }

    struct Output {
        let fd: FileDescriptor
        let isStderr: Bool
        var pending = ByteQueue()
        var atEOF = false
    }

    let channel: OpaquePointer
    private(set) var inputFD: FileDescriptor?
    private var inputEnd = InputEnd.close
    private var toLocal = ByteQueue()
    /// Bytes libssh still holds for us (offered to the data callback, not consumed).
    private var heldByLibssh = 0
    private(set) var clientSentEOF = false
    /// The client closed the channel, or writing to it failed: stop all traffic.
    private(set) var clientGone = false
    /// No more client data will reach the local side (EOF passed on, or the reader is gone).
    private(set) var inputDone = false
    private(set) var outputs: [Output] = []
    private var ownedFDs: [FileDescriptor] = []

    init(channel: OpaquePointer) { self.channel = channel }

    /// Connects the local side; `owned` descriptors are closed by `closeDescriptors()`.
    func attach(input: FileDescriptor, end: InputEnd, outputs: [(fd: FileDescriptor, isStderr: Bool)], owned: [FileDescriptor]) {
        inputFD = input
        inputEnd = end
        self.outputs = outputs.map { Output(fd: $0.fd, isStderr: $0.isStderr) }
        ownedFDs = owned
    }

    var isAttached: Bool { !ownedFDs.isEmpty }

    // MARK: client -> local

    /// libssh's data callback: `data` is everything libssh holds for this stream.
    /// Returns how many bytes were consumed.
    func receive(_ data: UnsafeRawBufferPointer, isStderr: Bool) -> Int {
        if isStderr || inputDone || clientGone { return data.count }  // nobody reads it: drop
        guard let inputFD, toLocal.isEmpty else {
            heldByLibssh = data.count
            return 0
        }
        switch ChannelPump.write(inputFD, data) {
        case .done(let n):
            heldByLibssh = data.count - n
            return n
        case .wouldBlock:
            heldByLibssh = data.count
            return 0
        case .ended:
            readerGone()
            return data.count
        }
    }

    func receivedEOF() { clientSentEOF = true }
    func clientClosed() { clientGone = true }

    var wantsInputWritable: Bool { inputFD != nil && !inputDone && !clientGone && (!toLocal.isEmpty || heldByLibssh > 0) }

    /// The local side can take more: our queue first, then what libssh holds.
    func flushToLocal(scratch: UnsafeMutableRawBufferPointer) {
        guard let inputFD, !inputDone else { return }
        if !toLocal.isEmpty {
            let result = toLocal.withFront { ChannelPump.write(inputFD, $0) }
            switch result {
            case .done(let n): toLocal.removeFirst(n)
            case .wouldBlock: return
            case .ended: readerGone(); return
            }
            if !toLocal.isEmpty { return }
        }
        while heldByLibssh > 0 && !clientGone {
            let n = Int(ssh_channel_read_nonblocking(channel, scratch.baseAddress, UInt32(min(heldByLibssh, scratch.count)), 0))
            guard n > 0 else { heldByLibssh = 0; break }
            heldByLibssh -= n
            let chunk = UnsafeRawBufferPointer(rebasing: scratch[0..<n])
            switch ChannelPump.write(inputFD, chunk) {
            case .done(let w):
                if w < n { toLocal.append(UnsafeRawBufferPointer(rebasing: chunk[w...])); return }
            case .wouldBlock:
                toLocal.append(chunk)
                return
            case .ended:
                readerGone()
                discardHeld(scratch: scratch)
                return
            }
        }
    }

    /// Passes the client's EOF on once everything before it has been written.
    func closeInputIfDue() {
        guard clientSentEOF, !inputDone, toLocal.isEmpty, heldByLibssh == 0 else { return }
        inputDone = true
        guard let input = inputFD else { return }
        switch inputEnd {
        case .close:
            ownedFDs.removeAll { $0 == input }
            try? input.close()
            inputFD = nil
        case .shutdownWrite:
            _ = shutdown(input.rawValue, Int32(SHUT_WR))
        case .keepOpen:
            break
        }
    }

    /// The local reader is gone (EPIPE, EIO): drop what we hold and whatever comes later.
    private func readerGone() {
        inputDone = true
        toLocal.removeAll()
    }

    /// Reads and drops what libssh still holds, so the client's window reopens.
    private func discardHeld(scratch: UnsafeMutableRawBufferPointer) {
        while heldByLibssh > 0 {
            let n = Int(ssh_channel_read_nonblocking(channel, scratch.baseAddress, UInt32(min(heldByLibssh, scratch.count)), 0))
            guard n > 0 else { break }
            heldByLibssh -= n
        }
        heldByLibssh = 0
    }

    // MARK: local -> client

    func wantsOutputReadable(_ index: Int) -> Bool {
        let output = outputs[index]
        return !output.atEOF && output.pending.isEmpty && !clientGone && ssh_channel_window_size(channel) > 0
    }

    /// Reads what fits in the client's window and sends it.
    func pumpOutput(_ index: Int, scratch: UnsafeMutableRawBufferPointer) {
        guard !outputs[index].atEOF, !clientGone else { return }
        let window = Int(ssh_channel_window_size(channel))
        guard window > 0 else { return }
        let room = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<min(window, scratch.count)])
        switch ChannelPump.read(outputs[index].fd, into: room) {
        case .done(let n):
            send(UnsafeRawBufferPointer(rebasing: room[0..<n]), to: index)
        case .wouldBlock:
            break
        case .ended:
            outputs[index].atEOF = true
        }
    }

    /// Retries what the window or a key re-exchange held back.
    func flushToClient() {
        for index in outputs.indices where !outputs[index].pending.isEmpty && !clientGone {
            let window = Int(ssh_channel_window_size(channel))
            guard window > 0 else { return }
            let chunk = outputs[index].pending.peek(max: min(window, 1 << 18))
            let written = chunk.withUnsafeBytes { writeToChannel($0, stderr: outputs[index].isStderr) }
            if written < 0 { clientGone = true; return }
            outputs[index].pending.removeFirst(written)
        }
    }

    /// Queues text for the client's stdout stream (agent announcements), after anything
    /// already queued, so it never splits a write of the child.
    func announce(_ bytes: [UInt8]) {
        guard !clientGone, let index = outputs.firstIndex(where: { !$0.isStderr }) else { return }
        outputs[index].pending.append(bytes)
    }

    /// Every output reached EOF and everything read was sent.
    var outputsFinished: Bool { outputs.allSatisfy { $0.atEOF && $0.pending.isEmpty } }
    var hasPendingOutput: Bool { outputs.contains { !$0.pending.isEmpty } }

    /// Ends outputs that have nothing to read right now (a pty whose shell exited while a
    /// background job keeps the terminal open). Output still waiting, or held back by a
    /// closed window, is not cut off. Returns true when every output has ended.
    func endIdleOutputs() -> Bool {
        for index in outputs.indices where !outputs[index].atEOF && outputs[index].pending.isEmpty {
            guard ssh_channel_window_size(channel) > 0 || clientGone else { continue }
            var entry = pollfd(fd: outputs[index].fd.rawValue, events: Int16(POLLIN), revents: 0)
            if poll(&entry, 1, 0) == 0 { outputs[index].atEOF = true }
        }
        return outputs.allSatisfy { $0.atEOF }
    }

    private func send(_ bytes: UnsafeRawBufferPointer, to index: Int) {
        let written = writeToChannel(bytes, stderr: outputs[index].isStderr)
        if written < 0 { clientGone = true; return }
        if written < bytes.count {
            outputs[index].pending.append(UnsafeRawBufferPointer(rebasing: bytes[written...]))
        }
    }

    /// Never more than the window: in non-blocking mode libssh then never waits.
    /// Returns bytes taken or -1 when the channel is unusable.
    private func writeToChannel(_ bytes: UnsafeRawBufferPointer, stderr: Bool) -> Int {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        let n = stderr
            ? ssh_channel_write_stderr(channel, base, UInt32(bytes.count))
            : ssh_channel_write(channel, base, UInt32(bytes.count))
        return Int(n)
    }

    // MARK: local descriptors (non-blocking)

    /// What one read or write on a local descriptor did.
    enum LocalIO: Equatable {
        case done(Int)
        case wouldBlock
        /// End of file, or an error (EPIPE: the reader is gone; EIO: a pty master whose
        /// terminal is gone): that direction is over.
        case ended
    }

    private static func read(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer) -> LocalIO {
        do {
            let n = try fd.read(into: buffer)
            return n > 0 ? .done(n) : .ended
        } catch Errno.wouldBlock {
            return .wouldBlock
        } catch {
            return .ended
        }
    }

    private static func write(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer) -> LocalIO {
        if bytes.isEmpty { return .done(0) }
        do {
            return .done(try fd.write(bytes))
        } catch Errno.wouldBlock {
            return .wouldBlock
        } catch {
            return .ended
        }
    }

    func closeDescriptors() {
        for fd in Set(ownedFDs) { try? fd.close() }
        ownedFDs.removeAll()
        inputFD = nil
        inputDone = true
    }
}
