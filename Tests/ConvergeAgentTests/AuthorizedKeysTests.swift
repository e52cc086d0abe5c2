import Testing
@testable import ConvergeAgent
import ConvergeWire

// Real keys made with ssh-keygen (public halves only).
let ed25519Line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBpLDpWbTUU8e/iM4arUTvlXg+IwgAucTjpZOJ2sU1qY ok@test"
let ed25519Fingerprint = "SHA256:rrNUxclPnO4ScPUWPdv7uBU7BHG/PqXAyxgDJDNEaPI"
let ecdsaLine = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEc8xNYmcoHAaQZsDFcwjrtmcCAGwAXRsW5p2y+mr2rFd0x2O3t9hxp7TpJd8KBU8r4Cs+Ez/cvRz4k6m82UlnQ= me@host"

@Suite struct AuthorizedKeysTests {
    @Test func parsesKeysCommentsAndBlankLines() {
        let file = AuthorizedKeysFile(parsing: "# my keys\n\n\(ed25519Line)\n   \n\(ecdsaLine)\r\n")
        #expect(file.issues.isEmpty)
        #expect(file.keys.count == 2)
        #expect(file.keys[0].type == "ssh-ed25519")
        #expect(file.keys[0].comment == "ok@test")
        #expect(file.keys[0].line == 3)
        #expect(file.keys[0].fingerprint == ed25519Fingerprint)
        #expect(file.keys[1].type == "ecdsa-sha2-nistp256")
        #expect(file.keys[1].comment == "me@host")
        #expect(file.keys[1].line == 5)
    }

    @Test func readsOptionsWithQuotedSpaces() {
        let file = AuthorizedKeysFile(parsing: "no-pty,from=\"10.0.0.1, 10.0.0.2\",command=\"echo \\\"hi there\\\"\" \(ed25519Line)\nrestrict \(ecdsaLine)")
        #expect(file.keys.count == 2)
        #expect(file.keys[0].optionsText == "no-pty,from=\"10.0.0.1, 10.0.0.2\",command=\"echo \\\"hi there\\\"\"")
        #expect(file.keys[0].options.command == "echo \"hi there\"")
        #expect(file.keys[0].options.from?.allows(client: "10.0.0.2:22") == true)
        #expect(!file.keys[0].options.allows(.pty))
        #expect(file.keys[1].optionsText == "restrict")
        #expect(file.issues.isEmpty)
        #expect(file.keys[1].logDescription.hasSuffix("with options \"restrict\""))
    }

    @Test func tabsTrailingBlanksAndCommentsInAnyScript() {
        let key = "AAAAC3NzaC1lZDI1NTE5AAAAIBpLDpWbTUU8e/iM4arUTvlXg+IwgAucTjpZOJ2sU1qY"
        let file = AuthorizedKeysFile(parsing: "\t ssh-ed25519\t\(key)  Zoë 👩🏽‍💻 laptop \t\r\r\n  # indented comment\r\n\u{301}ssh-ed25519 \(key)")
        #expect(file.keys.count == 1)
        #expect(file.keys.first?.comment == "Zoë 👩🏽‍💻 laptop")
        #expect(file.keys.first?.fingerprint == ed25519Fingerprint)
        #expect(file.issues.map(\.line) == [3])  // a combining mark is not a key type
    }

    @Test func keyWithoutComment() {
        let file = AuthorizedKeysFile(parsing: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBpLDpWbTUU8e/iM4arUTvlXg+IwgAucTjpZOJ2sU1qY")
        #expect(file.keys.count == 1)
        #expect(file.keys[0].comment == "")
    }

    @Test func reportsBadLinesWithLineNumbers() {
        let text = [
            ed25519Line,
            "ssh-dss AAAAB3NzaC1kc3MAAACBAP== old",
            "ssh-ed25519-cert-v01@openssh.com AAAA cert",
            "garbage line here",
            "ssh-ed25519",
            "ssh-ed25519 not*base64",
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIBpLDpWbTUU8e/iM4arUTvlXg+IwgAucTjpZOJ2sU1qY mismatched",
            "foo-key@example.com AAAA x",
        ].joined(separator: "\n")
        let file = AuthorizedKeysFile(parsing: text)
        #expect(file.keys.count == 1)
        let byLine = Dictionary(uniqueKeysWithValues: file.issues.map { ($0.line, $0.message) })
        #expect(file.issues.allSatisfy { $0.skipped })
        #expect(byLine[2]?.contains("unsupported key type ssh-dss") == true)
        #expect(byLine[3]?.contains("certificates are not supported") == true)
        #expect(byLine[4]?.contains("expected a key type") == true)
        #expect(byLine[5]?.contains("missing key data") == true)
        #expect(byLine[6]?.contains("not valid base64") == true)
        #expect(byLine[7]?.contains("does not hold a ssh-rsa key") == true)
        #expect(byLine[8]?.contains("unsupported key type foo-key@example.com") == true)
        #expect(file.issues[0].description.hasPrefix("line 2: "))
    }

    @Test func emptyFileHasNoKeys() {
        let file = AuthorizedKeysFile(parsing: "")
        #expect(file.keys.isEmpty && file.issues.isEmpty)
    }
}
