import Testing
@testable import ConvergeAgent
import Glibc

@Suite struct SessionPartsTests {
    @Test func byteQueueKeepsOrderAcrossPartialRemovals() {
        var queue = ByteQueue()
        queue.append([1, 2, 3, 4])
        #expect(queue.peek(max: 2) == [1, 2])
        queue.removeFirst(3)
        queue.append([5, 6])
        #expect(queue.count == 3)
        #expect(queue.peek(max: 10) == [4, 5, 6])
        #expect(queue.withFront { Array($0) } == [4, 5, 6])
        queue.removeFirst(10)
        #expect(queue.isEmpty)
    }

    @Test func windowSizeDefaultsTo80x24() {
        #expect(WindowSize(cols: 0, rows: 0, xpixel: 0, ypixel: 0) == WindowSize(cols: 80, rows: 24, xpixel: 0, ypixel: 0))
        #expect(WindowSize(cols: 132, rows: 50, xpixel: -1, ypixel: 70000).ypixel == UInt16.max)
    }

    @Test func signalNamesBothWays() {
        #expect(SignalNames.name(of: SIGTERM) == "TERM")
        #expect(SignalNames.name(of: SIGKILL) == "KILL")
        #expect(SignalNames.number(named: "INT") == SIGINT)
        #expect(SignalNames.number(named: "SIGHUP") == SIGHUP)
        #expect(SignalNames.number(named: "NOPE") == nil)
    }

    @Test func childExitDecodesWaitStatus() {
        #expect(ChildExit(waitStatus: 7 << 8) == .exited(7))
        #expect(ChildExit(waitStatus: SIGKILL) == .signaled(SIGKILL))
    }

    @Test func environmentWithholdsTheAgentPasswordAndTakesOverrides() {
        let env = ShellEnvironment(shell: "/bin/sh", base: ["PATH=/bin", "CONVERGE_PASSWORD=x", "TERM=dumb", "LANG=C"])
        #expect(env.base == ["PATH=/bin", "TERM=dumb", "LANG=C"])
        #expect(env.environment(overriding: [("TERM", "xterm-256color"), ("LC_ALL", "C.UTF-8")])
                == ["PATH=/bin", "LANG=C", "TERM=xterm-256color", "LC_ALL=C.UTF-8"])
        #expect(env.commandArguments("exit 7") == ["sh", "-c", "exit 7"])
        #expect(ShellEnvironment.clientMaySet("LC_CTYPE") && ShellEnvironment.clientMaySet("TERM"))
        #expect(!ShellEnvironment.clientMaySet("LD_PRELOAD") && !ShellEnvironment.clientMaySet("PATH"))
    }

    @Test func shellChoiceFallsBack() {
        #expect(ShellEnvironment.current(shellOverride: "/nonexistent/shell").shell != "/nonexistent/shell")
        #expect(ShellEnvironment.current(shellOverride: "/bin/sh").shell == "/bin/sh")
    }

    @Test func hostKeyFingerprintAndKnownHostsLine() throws {
        let key = try SSHHostKey.generate()
        #expect(key.fingerprint.hasPrefix("SHA256:") && key.fingerprint.count == 50)
        #expect(key.publicKeyLine.hasPrefix("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"))
        #expect(key.knownHostsLine(hosts: "[localhost]:10000") == "[localhost]:10000 " + key.publicKeyLine)
        let parsed = AuthorizedKeysFile(parsing: key.publicKeyLine)
        #expect(parsed.keys.first?.fingerprint == key.fingerprint)
    }
}
