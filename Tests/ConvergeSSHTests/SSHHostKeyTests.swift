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

@Suite struct SSHHostKeyLoadingTests {
    private func keyFile(mode: mode_t) throws -> (path: String, key: SSHHostKey) {
        var template = Array("/tmp/converge-hostkey-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        let path = dir + "/key"
        let (key, _) = try SSHHostKey.loadOrCreate(path: path)
        chmod(path, mode)
        return (path, key)
    }

    @Test func loadsAnExistingKeyWithoutCreatingOne() throws {
        let (path, key) = try keyFile(mode: 0o600)
        #expect(try SSHHostKey.load(path: path).fingerprint == key.fingerprint)
        #expect(throws: SSHSessionError.self) { try SSHHostKey.load(path: path + ".missing") }
        #expect(access(path + ".missing", F_OK) != 0)
        chmod(path, 0o640)
        #expect(throws: SSHSessionError.self) { try SSHHostKey.load(path: path) }
    }

    @Test func readsTheKeyFromText() throws {
        let (path, key) = try keyFile(mode: 0o600)
        let fd = open(path, O_RDONLY)
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &bytes, bytes.count)
        close(fd)
        let text = String(decoding: bytes[0..<max(n, 0)], as: UTF8.self)
        let fromText = try SSHHostKey(privateKeyText: text)
        #expect(fromText.fingerprint == key.fingerprint)
        #expect(fromText.publicKeyLine == key.publicKeyLine)
    }

    @Test func badTextIsRefusedWithoutQuotingIt() {
        do {
            _ = try SSHHostKey(privateKeyText: "secret-looking garbage")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "not an unencrypted OpenSSH private key")
        }
    }
}
