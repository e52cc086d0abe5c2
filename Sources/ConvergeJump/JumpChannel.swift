internal import CLibSSH
import CShims
import ConvergeClient
import ConvergeNet
import ConvergeWire
import Glibc

/// One `direct-tcpip` channel of a jump connection, relayed to its agent: the person's
/// own SSH bytes go out as masked binary frames on a `/client/ID` WebSocket (exactly
/// what wsproxy sends), and the agent's frames come back as channel data. Neither side
/// is parsed beyond the framing: the inner SSH stays end to end.
///
/// Flow control never blocks the jump process: client data is taken only while less than
/// `highWater` waits for the agent (libssh holds the rest and its window stops the
/// client), and the agent leg is read only while the client's window has room.
final class JumpChannel {
    let number: Int
    let id: String
    let channel: OpaquePointer
    let stream: any ByteStream
    var installation: UnsafeMutableRawPointer?

    private static let highWater = 1 << 20
    private var decoder = WebSocketDecoder(masking: .forbidden)
    private var keys = MaskKeys()
    /// Frames for the agent not yet written, from `toAgentSent` on.
    private var toAgent: [UInt8] = []
    private var toAgentSent = 0
    /// The agent's payload the client's window had no room for yet.
    private var toClient: [UInt8] = []
    /// Bytes read from the agent leg that do not make a whole frame header yet.
    private var partial: [UInt8] = []
    /// Client data libssh offered and still holds for us.
    private var heldByLibssh = 0

    private(set) var clientSentEOF = false
    private(set) var clientClosed = false
    private var closeFrameQueued = false
    private(set) var agentEnded = false
    private(set) var released = false
    private var lastHeard: Double
    private var lastPing: Double
    /// Why the agent leg ended, for the log.
    private(set) var endNote: String?
    /// The agent's reason for ending the person's login (close code 4000), to pass on.
    private(set) var agentReason: String?

    init(number: Int, id: String, channel: OpaquePointer, connection: WebSocketConnection, now: Double) {
        self.number = number
        self.id = id
        self.channel = channel
        self.stream = connection.stream
        self.lastHeard = now
        self.lastPing = now
        partial = connection.pending
    }

    // MARK: client -> agent

    /// libssh's data callback: frames what fits under the high-water mark.
    func receive(_ data: UnsafeRawBufferPointer) -> Int {
        if clientClosed || agentEnded || closeFrameQueued { return data.count }
        guard toAgent.count - toAgentSent < Self.highWater else {
            heldByLibssh = data.count
            return 0
        }
        queueFrame(.binary, data)
        heldByLibssh = 0
        return data.count
    }

    func receivedEOF() { clientSentEOF = true }
    func receivedClose() { clientClosed = true }

    private func queueFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) {
        if toAgentSent > 0 && toAgentSent == toAgent.count {
            toAgent.removeAll(keepingCapacity: true)
            toAgentSent = 0
        }
        let header = WebSocketFrameHeader(opcode: opcode, maskKey: keys.key(), payloadLength: UInt64(payload.count))
        let start = toAgent.count
        toAgent += [UInt8](repeating: 0, count: header.encodedLength)
        toAgent.withUnsafeMutableBytes { _ = header.encode(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        let body = toAgent.count
        toAgent.append(contentsOf: payload)
        toAgent.withUnsafeMutableBytes { _ = WebSocketMask.apply(key: header.maskKey!, phase: 0, to: UnsafeMutableRawBufferPointer(rebasing: $0[body...])) }
    }

    private func queueFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8]) {
        payload.withUnsafeBytes { queueFrame(opcode, $0) }
    }

    var wantsAgentWritable: Bool { toAgentSent < toAgent.count && !agentEnded }

    /// Writes queued frames; then takes what libssh held back once there is room.
    func flushToAgent(scratch: UnsafeMutableRawBufferPointer) {
        while toAgentSent < toAgent.count && !agentEnded {
            let result: StreamIO
            do {
                result = try toAgent.withUnsafeBytes { try stream.write(UnsafeRawBufferPointer(rebasing: $0[toAgentSent...])) }
            } catch {
                return endAgent("the agent's connection failed: \(error)")
            }
            guard case .bytes(let n) = result else { return }
            toAgentSent += n
        }
        while heldByLibssh > 0 && !clientClosed && toAgent.count - toAgentSent < Self.highWater {
            let n = Int(ssh_channel_read_nonblocking(channel, scratch.baseAddress, UInt32(min(heldByLibssh, scratch.count)), 0))
            guard n > 0 else { heldByLibssh = 0; break }
            heldByLibssh -= n
            queueFrame(.binary, UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
            if toAgentSent < toAgent.count { return flushToAgent(scratch: scratch) }
        }
    }

    // MARK: agent -> client

    var wantsAgentReadable: Bool {
        !agentEnded && !clientClosed && toClient.isEmpty && ssh_channel_window_size(channel) > 0
    }

    /// Reads frames from the agent and passes their payload to the client.
    func pumpFromAgent(scratch: UnsafeMutableRawBufferPointer, now: Double) {
        guard wantsAgentReadable else { return }
        let kept = partial.count
        partial.withUnsafeBytes { scratch.copyMemory(from: $0) }
        partial.removeAll(keepingCapacity: true)
        let room = UnsafeMutableRawBufferPointer(rebasing: scratch[kept...])
        var filled = kept
        let result: StreamIO
        do { result = try stream.read(into: room) } catch {
            return endAgent("the agent's connection failed: \(error)")
        }
        switch result {
        case .bytes(let n): filled += n
        case .wouldBlock:
            partial = Array(scratch[0..<kept])
            return
        case .end:
            return endAgent("the agent's connection closed")
        }
        lastHeard = now
        var events: [WebSocketDecoder.Event] = []
        let used: Int
        do {
            used = try decoder.decode(UnsafeMutableRawBufferPointer(rebasing: scratch[0..<filled]), into: &events)
        } catch {
            queueFrame(.close, WebSocketFrameHeader.closePayload(code: error.closeCode, reason: error.description))
            return endAgent("the agent's connection broke the WebSocket protocol: \(error.description)")
        }
        for event in events {
            switch event {
            case .data(let range):
                sendToClient(UnsafeRawBufferPointer(rebasing: scratch[range]))
            case .control(.ping, let payload):
                queueFrame(.pong, payload)
            case .control(.close, let bytes):
                if bytes.count > 2, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == AgentCloseCode.endedLogin {
                    agentReason = LogText.escaped(bytes[2...], limit: 120)
                }
                if !closeFrameQueued { queueFrame(.close, WebSocketFrameHeader.closePayload(code: WebSocketCloseCode.normal, reason: "")) }
                closeFrameQueued = true
                return endAgent(nil)
            case .control:
                break
            }
        }
        partial = Array(scratch[used..<filled])
    }

    private func sendToClient(_ bytes: UnsafeRawBufferPointer) {
        guard !clientClosed, !bytes.isEmpty else { return }
        if !toClient.isEmpty { toClient.append(contentsOf: bytes); return }
        let written = writeToChannel(bytes)
        if written < bytes.count { toClient.append(contentsOf: bytes[written...]) }
    }

    /// Retries what the client's window held back.
    func flushToClient() {
        guard !toClient.isEmpty, !clientClosed else { return }
        let written = toClient.withUnsafeBytes { writeToChannel($0) }
        toClient.removeFirst(written)
    }

    /// Never more than the window, so libssh never waits in non-blocking mode.
    private func writeToChannel(_ bytes: UnsafeRawBufferPointer) -> Int {
        let room = min(bytes.count, Int(ssh_channel_window_size(channel)))
        guard room > 0, let base = bytes.baseAddress else { return 0 }
        let n = Int(ssh_channel_write(channel, base, UInt32(room)))
        if n < 0 { clientClosed = true; return bytes.count }
        return n
    }

    private func endAgent(_ note: String?) {
        if endNote == nil { endNote = note }
        agentEnded = true
    }

    // MARK: the end

    /// Keepalive and the ends of both sides; true once the channel is released.
    func housekeeping(now: Double, pingInterval: Double, deadPeerTimeout: Double, scratch: UnsafeMutableRawBufferPointer) -> Bool {
        if released { return true }
        flushToClient()
        if !agentEnded {
            if now - lastHeard >= deadPeerTimeout {
                endAgent("the agent's connection was silent for \(Int(deadPeerTimeout))s (limit: dead_peer_timeout)")
            } else if now - max(lastHeard, lastPing) >= pingInterval {
                queueFrame(.ping, [])
                lastPing = now
                flushToAgent(scratch: scratch)
            }
        }
        // The client's EOF (or close): everything it sent goes out, then a close frame
        // (WebSocket has no half-close); the agent's answers still reach the client.
        if (clientSentEOF || clientClosed) && !closeFrameQueued && !agentEnded && heldByLibssh == 0 {
            queueFrame(.close, WebSocketFrameHeader.closePayload(code: WebSocketCloseCode.normal, reason: ""))
            closeFrameQueued = true
            flushToAgent(scratch: scratch)
        }
        let agentDone = agentEnded || (closeFrameQueued && toAgentSent == toAgent.count && clientClosed)
        if clientClosed || (agentDone && toClient.isEmpty) {
            release()
            return true
        }
        return false
    }

    /// Nothing of ours waits for the client's window.
    var flushedToClient: Bool { toClient.isEmpty }

    /// Lets go of our side only, after `ssh_disconnect`, which freed libssh's channel.
    func abandon() {
        guard !released else { return }
        released = true
        stream.close()
        cshim_ssh_remove_channel_callbacks(nil, installation)
        installation = nil
    }

    /// Ends the channel on both sides and frees it.
    func release() {
        guard !released else { return }
        released = true
        if toAgentSent < toAgent.count {
            // A last try at the close frame; a full socket just loses it (the agent sees EOF).
            _ = try? toAgent.withUnsafeBytes { try stream.write(UnsafeRawBufferPointer(rebasing: $0[toAgentSent...])) }
        }
        stream.close()
        if let installation {
            cshim_ssh_remove_channel_callbacks(UnsafeMutableRawPointer(channel), installation)
            self.installation = nil
        }
        if !clientClosed {
            _ = ssh_channel_send_eof(channel)
            _ = ssh_channel_close(channel)
        }
        ssh_channel_free(channel)
    }

    /// The descriptor to poll, and for what.
    var pollEvents: Int16 {
        (wantsAgentReadable || stream.hasBufferedInput ? Int16(POLLIN) : 0) | (wantsAgentWritable ? Int16(POLLOUT) : 0)
    }
}
