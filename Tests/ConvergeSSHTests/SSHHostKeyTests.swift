import Glibc
import Testing
@testable import ConvergeSSH

@Suite struct SSHHostKeyTests {
    private func scratchPath() -> String {
        var template = Array("/tmp/converge-hostkey-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        return dir + "/ssh_host_ed25519_key"
    }

    @Test func createsOnceWithMode600ThenReusesTheSameKey() throws {
        let path = scratchPath()
        let (first, created) = try SSHHostKey.loadOrCreate(path: path)
        #expect(created)
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        let (again, createdAgain) = try SSHHostKey.loadOrCreate(path: path)
        #expect(!createdAgain)
        #expect(again.fingerprint == first.fingerprint)
        #expect(again.publicKeyLine == first.publicKeyLine)
        #expect(first.publicKeyLine.hasPrefix("ssh-ed25519 AAAA"))
        #expect(first.fingerprint.hasPrefix("SHA256:"))
    }

    @Test func refusesAKeyOthersCanRead() throws {
        let path = scratchPath()
        _ = try SSHHostKey.loadOrCreate(path: path)
        chmod(path, 0o644)
        #expect(throws: SSHSessionError.self) { try SSHHostKey.loadOrCreate(path: path) }
    }

    @Test func refusesAFileThatIsNotAKey() throws {
        let path = scratchPath()
        let fd = open(path, O_WRONLY | O_CREAT, 0o600)
        _ = write(fd, "not a key\n", 10)
        close(fd)
        #expect(throws: SSHSessionError.self) { try SSHHostKey.loadOrCreate(path: path) }
    }

    @Test func saysWhyAMissingDirectoryFails() {
        #expect(throws: SSHSessionError.self) { try SSHHostKey.loadOrCreate(path: "/nonexistent-dir/key") }
    }
}
