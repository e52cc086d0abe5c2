import Testing
@testable import ConvergeAgent
import ConvergeNet
import CShims
import Glibc
import SystemPackage

/// Real children through the C shim (fork + exec in C); serialized, since reaping uses
/// waitpid(-1) and the signal pipe is process-wide.
@Suite(.serialized) struct ChildProcessTests {
    func readAll(_ descriptor: FileDescriptor, seconds: Double = 5) -> String {
        let fd = descriptor.rawValue
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Clock.monotonic() + seconds
        while Clock.monotonic() < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { continue }
            let n = read(fd, &buffer, buffer.count)
            if n > 0 { out += buffer[0..<n]; continue }
            if n < 0 && errno == EAGAIN { continue }
            break  // EOF, or EIO on a pty master
        }
        return String(decoding: out, as: UTF8.self)
    }

    func waitForExit(_ registry: inout ChildRegistry, _ pid: pid_t) -> ChildExit? {
        let deadline = Clock.monotonic() + 5
        while Clock.monotonic() < deadline {
            if let ended = registry.reap().first(where: { $0.pid == pid }) { return ended.exit }
            usleep(10_000)
        }
        return nil
    }

    @Test func pipesKeepStreamsApartAndTheGroupIsKilledAtTheEnd() throws {
        let signals = try SignalPipe()
        _ = cshim_set_child_subreaper()  // as in a session process: orphans come to us
        var registry = ChildRegistry()
        let child = try ChildLauncher.launch(path: "/bin/sh", arguments: ["sh", "-c", "echo out; echo err >&2; sleep 3600 2>/dev/null & exit 3"],
                                             environment: ["PATH=/usr/bin:/bin"], terminal: nil)
        registry.started(child.pid)
        #expect(!child.isTerminal)
        try? child.input.close()
        #expect(readAll(child.errorOutput!) == "err\n")
        // stdout stays open while the background sleep holds it: read what is there.
        #expect(readAll(child.output, seconds: 0.5) == "out\n")
        #expect(waitForExit(&registry, child.pid) == .exited(3))
        #expect(kill(-child.pid, 0) == 0)  // the sleep is still in the group
        registry.endAll(grace: 0.2, signals: signals)
        #expect(kill(-child.pid, 0) == -1 && errno == ESRCH)
        try? child.output.close()
        try? child.errorOutput!.close()
    }

    @Test func ptyHasTheRequestedSizeAndTheEnvironment() throws {
        var registry = ChildRegistry()
        let child = try ChildLauncher.launch(path: "/bin/sh", arguments: ["sh", "-c", "stty size; echo $TERM; tty"],
                                             environment: ["PATH=/usr/bin:/bin", "TERM=vt220"],
                                             terminal: WindowSize(cols: 77, rows: 33, xpixel: 0, ypixel: 0))
        registry.started(child.pid)
        #expect(child.isTerminal && child.input == child.output)
        let text = readAll(child.output)
        #expect(text.hasPrefix("33 77\r\nvt220\r\n/dev/pts/"))
        #expect(waitForExit(&registry, child.pid) == .exited(0))
        try? child.output.close()
    }

    @Test func signalledChildAndMissingProgram() throws {
        var registry = ChildRegistry()
        let killed = try ChildLauncher.launch(path: "/bin/sh", arguments: ["sh", "-c", "kill -TERM $$"], environment: [], terminal: nil)
        registry.started(killed.pid)
        #expect(waitForExit(&registry, killed.pid) == .signaled(SIGTERM))
        let missing = try ChildLauncher.launch(path: "/nonexistent/shell", arguments: ["x"], environment: [], terminal: nil)
        registry.started(missing.pid)
        #expect(readAll(missing.errorOutput!).contains("cannot execute /nonexistent/shell"))
        #expect(waitForExit(&registry, missing.pid) == .exited(127))
        for fd in [killed.input, killed.output, killed.errorOutput!, missing.input, missing.output, missing.errorOutput!] { try? fd.close() }
    }
}
