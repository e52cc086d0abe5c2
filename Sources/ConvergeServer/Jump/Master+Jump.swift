import CShims
import ConvergeJump
import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// The master's part in the jump host: accept an SSH connection and fork its jump
/// process; answer that process's requests for client legs, which then go through the
/// same route, limits, logs and pairing as a `/client/ID` request from outside.
extension Master {
    func acceptJumpConnections(now: Double) {
        guard let listener = jump?.listener, let options = config.jump else { return }
        let outOfDescriptors = Array("converge: the server is out of file descriptors, try again later\r\n".utf8)
        acceptEach(on: listener, refusal: outOfDescriptors, now: now) { socket, address in
            let peer = address.description
            let host = address.hostAndPort.host
            guard jump?.admits(host) == true else {
                metrics.refuse(.maxJumpStartupsPerAddress)
                log.write("\(peer) jump: refused: limit \(Limit.maxJumpStartupsPerAddress) (\(options.maxStartupsPerAddress)) reached")
                let line = "converge: too many SSH connections from your address are logging in \(Limit.maxJumpStartupsPerAddress.tag())\r\n"
                _ = try? Array(line.utf8).withUnsafeBytes { try socket.write($0) }
                try? socket.close()
                return
            }
            startJumpProcess(socket: socket, peer: peer, address: host, options: options)
        }
    }

    private func startJumpProcess(socket: FileDescriptor, peer: String, address: String, options: JumpOptions) {
        guard let jump else { return }
        defer { try? socket.close() }
        let control: (FileDescriptor, FileDescriptor)
        do { control = try Socket.pair(.seqpacket) } catch {
            log.write("\(peer) jump: cannot create its control socket: \(error.description)")
            return
        }
        let settings = JumpSettings(hostKey: jump.hostKey, options: options, pingInterval: config.pingInterval,
                                    deadPeerTimeout: config.deadPeerTimeout, log: log)
        let pid = fork()
        if pid == 0 {
            // The child keeps its client as fd 3 and its control socket as fd 4, nothing else.
            let keptClient = fcntl(socket.rawValue, F_DUPFD_CLOEXEC, 10)
            let keptControl = fcntl(control.1.rawValue, F_DUPFD_CLOEXEC, 10)
            dup2(keptClient, 3)
            dup2(keptControl, 4)
            cshim_closefrom(5)
            Signals.resetInChild()
            cshim_set_proctitle("converge: jump \(LogText.escaped(peer))")
            JumpProcess.serve(client: 3, control: 4, peer: peer, address: address, settings: settings, upstream: options.upstream)
            exit(0)
        }
        try? control.1.close()
        guard pid > 0 else {
            log.write("\(peer) jump: cannot fork its process: \(Errno(rawValue: errno))")
            try? control.0.close()
            return
        }
        self.jump?.started(JumpHosts.Process(pid: pid, peer: peer, address: address), control: control.0)
        metrics.jumpConnectionsTotal += 1
        loop.watch(control.0)
        log.write("\(peer) jump: connection accepted, process \(pid)")
    }

    /// Reads a jump process's reports; on EOF it has ended.
    func jumpSpoke(_ fd: FileDescriptor, now: Double) {
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let n = recv(fd.rawValue, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { return }
            guard n > 0 else {
                loop.unwatch(fd)
                try? fd.close()
                _ = jump?.ended(control: fd)
                workers.reap()
                return
            }
            switch JumpReport(line: String(decoding: buffer[0..<n], as: UTF8.self)) {
            case .loggedIn: jump?.loggedIn(control: fd)
            case .openClientLeg: openClientLeg(for: fd, now: now)
            case .refused(let name): if let limit = Limit(rawValue: name) { metrics.refuse(limit) }
            case nil: break
            }
        }
    }

    /// A new connection in the master's table, as if accepted from the jump's client
    /// (counted under its address); the other end goes to the jump process.
    private func openClientLeg(for control: FileDescriptor, now: Double) {
        guard let process = jump?.processes[control] else { return }
        let answer: (fds: [FileDescriptor], payload: [UInt8])
        if drainDeadline != nil {
            answer = ([], Array("error the server is shutting down".utf8))
        } else if perAddressRefusal(process.address, peer: process.peer) != nil {
            answer = ([], Array("error too many connections from your address \(Limit.maxConnectionsPerAddress.tag())".utf8))
        } else {
            do {
                let (mine, theirs) = try Socket.pair(.stream)
                try Socket.setNonBlocking(mine)
                let c = Connection(fd: mine, peer: process.peer, address: process.address, now: now)
                c.path = .ssh
                connectionsPerAddress.opened(process.address)
                connections[mine] = c
                loop.watch(mine)
                answer = ([theirs], Array("ok".utf8))
            } catch {
                answer = ([], Array("error the server cannot create a connection: \(error.description)".utf8))
            }
        }
        do {
            try FDPassing.send(answer.fds, payload: answer.payload, over: control)
        } catch {
            log.write("\(process.peer) jump: cannot answer its process: \(error.description)")
        }
        for fd in answer.fds { try? fd.close() }
    }
}
