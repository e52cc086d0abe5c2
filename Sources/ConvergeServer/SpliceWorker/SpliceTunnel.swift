import CShims
import ConvergeNet
import Glibc
import SystemPackage

/// Moves bytes between two connected sockets, both ways, with splice(2) through a kernel
/// pipe per direction: the server's splice worker forwards a session verbatim, without
/// copying a byte into user space or looking inside (the WebSocket frames belong to the
/// client and the agent; docs/protocol.md).
///
/// ```swift
/// let tunnel = SpliceTunnel(a: client, b: agent, prefixToB: sessionFrame + clientBytes)
/// let ending = tunnel.run()    // who ended it, and how
/// ```
///
/// The rules, and why:
/// - `prefixToA`/`prefixToB` go out before anything spliced (bytes read before the hand-off).
/// - Backpressure comes free: a direction reads only while its pipe has room, so a slow
///   reader slows the writer through TCP instead of growing memory.
/// - End of file on one socket half-closes the other once its pipe is drained; a peer
///   that finished may still receive. Once one direction is finished the other has
///   `closeGrace` to finish too (a WebSocket peer answers a close and hangs up).
/// - An error on a socket (reset, dead peer) ends the tunnel; after a peer's end of file
///   its errors are part of an ordinary ending.
/// - Dead peers are the kernel's to find: TCP keepalive after `keepaliveIdle` of quiet,
///   and `TCP_USER_TIMEOUT`, make a vanished peer an error within `deadPeerTimeout`.
///
/// The tunnel never closes the two sockets; the caller does.
final class SpliceTunnel {
    /// The tunnel's two sockets: `a` (the worker's client) and `b` (its agent).
    enum Side: Sendable, Equatable { case a, b }

    struct Options: Sendable {
        var keepaliveIdle: Double = 20
        var deadPeerTimeout: Double = 60
        var closeGrace: Double = 2
        /// Kernel pipe size per direction (F_SETPIPE_SZ; the kernel may give less).
        var pipeSize: Int32 = 1 << 20

        init() {}
    }

    /// How the tunnel ended: the side that ended first, and the error if it failed.
    struct Ending: Sendable, Equatable {
        let side: Side
        let error: NetError?
    }

    private let flows: [SpliceFlow]
    private let options: Options
    private var ending: Ending? = nil
    private var graceDeadline: Double? = nil
    private var tick: (interval: Double, next: Double, handler: () -> Void)? = nil

    /// `a` and `b` are connected stream sockets; they are made non-blocking.
    init(a: FileDescriptor, b: FileDescriptor, prefixToA: [UInt8] = [], prefixToB: [UInt8] = [], options: Options = Options()) {
        self.options = options
        for fd in [a, b] {
            try? Socket.setNonBlocking(fd)
            Socket.setKeepalive(fd.rawValue, idle: options.keepaliveIdle, deadAfter: options.deadPeerTimeout)
        }
        // The flows splice raw descriptors (splice(2) is not in swift-system).
        flows = [SpliceFlow(from: a.rawValue, to: b.rawValue, prefix: prefixToB, pipeSize: options.pipeSize),
                 SpliceFlow(from: b.rawValue, to: a.rawValue, prefix: prefixToA, pipeSize: options.pipeSize)]
    }

    deinit { for flow in flows { flow.closePipe() } }

    /// Bytes that reached b from a, and a from b (prefixes included).
    var bytesAToB: UInt64 { flows[0].forwarded }
    var bytesBToA: UInt64 { flows[1].forwarded }

    /// Calls `handler` about every `interval` seconds while running (byte reports).
    func onTick(every interval: Double, _ handler: @escaping () -> Void) {
        tick = (interval, Clock.monotonic() + interval, handler)
    }

    /// Forwards until both directions are finished, a socket fails, or the grace after
    /// the first finished direction runs out.
    func run() -> Ending {
        for flow in flows where flow.pipeFailed != nil {
            return Ending(side: flow === flows[0] ? .a : .b, error: flow.pipeFailed)
        }
        while true {
            for (i, flow) in flows.enumerated() {
                if let error = flow.pump() { fail(i, error) }
                if flow.finished && ending == nil { ending = Ending(side: i == 0 ? .a : .b, error: nil) }
            }
            let now = Clock.monotonic()
            if ending != nil && graceDeadline == nil { graceDeadline = now + options.closeGrace }
            if flows.allSatisfy(\.finished) || flows.contains(where: \.broken) { break }
            if let graceDeadline, now >= graceDeadline { break }
            if let current = tick, now >= current.next {
                tick?.next = now + current.interval
                current.handler()
            }
            wait(now: now)
        }
        return ending ?? Ending(side: .a, error: nil)
    }

    /// An error on a socket: the tunnel's ending unless a peer already ended it.
    private func fail(_ i: Int, _ failure: SpliceFlow.Failure) {
        let side: Side = (failure.onSource ? i == 0 : i == 1) ? .a : .b
        if ending == nil { ending = Ending(side: side, error: failure.error) }
    }

    private func wait(now: Double) {
        var deadline = now + 3600
        if let graceDeadline { deadline = min(deadline, graceDeadline) }
        if let tick { deadline = min(deadline, tick.next) }
        // A flow stopped by pump's fairness bound asks poll for nothing: only look, don't wait.
        if flows.contains(where: \.canMoveNow) { deadline = now }
        // Each socket is one flow's source and the other's destination: one entry each.
        var entries = [pollfd(fd: flows[0].from, events: 0, revents: 0), pollfd(fd: flows[1].from, events: 0, revents: 0)]
        for (i, flow) in flows.enumerated() {
            if flow.wantsReadable { entries[i].events |= Int16(POLLIN) }
            if flow.wantsWritable { entries[1 - i].events |= Int16(POLLOUT) }
        }
        let rc = entries.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, 2, Poll.milliseconds(until: deadline)) }
        guard rc > 0 else { return }  // timeout or EINTR: the loop re-checks everything
        let trouble = Int16(POLLERR | POLLHUP)
        for (i, flow) in flows.enumerated() {
            if entries[i].revents & (Int16(POLLIN) | trouble) != 0 { flow.readReady = true }
            if entries[1 - i].revents & (Int16(POLLOUT) | trouble) != 0 { flow.writeReady = true }
            // A hung-up destination takes no more bytes: with none waiting, this way is done
            // (else the next write reports the error). Keeps poll from reporting it forever.
            if entries[1 - i].revents & trouble != 0 { flow.destinationHungUp() }
        }
    }
}

/// One direction of a tunnel: `from` → pipe → `to`, with prefix bytes first.
final class SpliceFlow {
    struct Failure {
        /// True when the source socket failed, false for the destination.
        let onSource: Bool
        let error: NetError
    }

    let from: Int32
    let to: Int32
    private var pipe: [Int32] = [-1, -1]
    private var capacity = 0
    private(set) var pipeFailed: NetError? = nil
    private var prefix: [UInt8]
    private var prefixSent = 0
    private var inPipe = 0
    private var sourceEnded = false
    /// End of file passed on: everything forwarded and `to` half-closed.
    private(set) var finished = false
    /// A socket failed: nothing more moves this way.
    private(set) var broken = false
    var readReady = true
    var writeReady = true
    private(set) var forwarded: UInt64 = 0

    init(from: Int32, to: Int32, prefix: [UInt8], pipeSize: Int32) {
        self.from = from
        self.to = to
        self.prefix = prefix
        if cshim_pipe_nonblocking(&pipe) != 0 {
            pipeFailed = NetError.system(.io, "pipe")
            broken = true
            return
        }
        _ = fcntl(pipe[1], 1031 /* F_SETPIPE_SZ */, pipeSize)
        capacity = Int(max(cshim_pipe_capacity(pipe[1]), 4096))
    }

    func closePipe() {
        for fd in pipe where fd >= 0 { close(fd) }
        pipe = [-1, -1]
    }

    var hasOutput: Bool { prefixSent < prefix.count || inPipe > 0 }
    /// The pipe took no more although below `capacity` (it counts pages, and spliced
    /// socket data fills them partly): read again once some of it went out.
    private var pipeFull = false
    var wantsReadable: Bool { !broken && !sourceEnded && !readReady && !pipeFull && inPipe < capacity }
    var wantsWritable: Bool { !broken && !finished && hasOutput && !writeReady }
    /// Not waiting for anything: bytes could move without blocking.
    var canMoveNow: Bool { !broken && !finished && ((writeReady && hasOutput) || canRead) }
    private var canRead: Bool { readReady && !pipeFull && !sourceEnded && inPipe < capacity && prefixSent == prefix.count }

    func destinationHungUp() {
        if !hasOutput && !broken { finished = true }
    }

    /// Moves what can move now without blocking; a failure is returned once.
    func pump() -> Failure? {
        guard !broken && !finished else { return nil }
        // Bounded: a direction that never blocks must not starve the other one.
        for _ in 0..<16 {
            var progressed = false
            if writeReady && hasOutput {
                switch writeSome() {
                case .failure(let error): return breakOff(onSource: false, error)
                case .success(let moved): progressed = moved
                }
            }
            if canRead {
                let n = cshim_splice(from, pipe[1], capacity - inPipe)
                if n > 0 {
                    inPipe += n
                    progressed = true
                } else if n == 0 {
                    sourceEnded = true
                } else if errno == EINTR {
                    continue
                } else if errno == EAGAIN {
                    // Nothing to read, or no room in the pipe: only an empty pipe says which.
                    if inPipe > 0 { pipeFull = true } else { readReady = false }
                } else {
                    return breakOff(onSource: true, NetError.system(.io, "read"))
                }
            }
            if sourceEnded && !hasOutput {
                _ = shutdown(to, Int32(SHUT_WR))
                finished = true
                return nil
            }
            if !progressed { return nil }
        }
        return nil
    }

    /// Writes prefix bytes, else pipe bytes; true if any moved.
    private func writeSome() -> Result<Bool, NetError> {
        let n: Int
        if prefixSent < prefix.count {
            n = prefix.withUnsafeBytes { send(to, $0.baseAddress! + prefixSent, $0.count - prefixSent, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if n > 0 { prefixSent += n }
        } else {
            n = cshim_splice(pipe[0], to, inPipe)
            if n > 0 {
                inPipe -= n
                pipeFull = false
            }
        }
        if n > 0 {
            forwarded += UInt64(n)
            if prefixSent == prefix.count && !prefix.isEmpty { prefix = [] ; prefixSent = 0 }
            return .success(true)
        }
        if n < 0 && (errno == EAGAIN || errno == EINTR) {
            writeReady = false
            return .success(false)
        }
        return .failure(NetError.system(.io, "write"))
    }

    private func breakOff(onSource: Bool, _ error: NetError) -> Failure {
        broken = true
        return Failure(onSource: onSource, error: error)
    }
}
