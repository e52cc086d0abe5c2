import Glibc
import Testing
@testable import ConvergeSFTP

@Suite struct SFTPLongNameTests {
    @Test(arguments: [
        (UInt32(0o100644), "-rw-r--r--"),
        (0o040755, "drwxr-xr-x"),
        (0o120777, "lrwxrwxrwx"),
        (0o104755, "-rwsr-xr-x"),
        (0o102644, "-rw-r-Sr--"),
        (0o041777, "drwxrwxrwt"),
        (0o041776, "drwxrwxrwT"),
        (0o010600, "prw-------"),
        (0o140755, "srwxr-xr-x"),
        (0o020620, "crw--w----"),
        (0o060660, "brw-rw----"),
    ])
    func modeStrings(mode: UInt32, expected: String) {
        #expect(SFTPLongName.modeString(mode) == expected)
    }

    @Test func lineLayoutMatchesOpenSSH() {
        let now = 1_700_000_000
        let status = SFTPFileStatus(
            mode: 0o100644, linkCount: 1, userID: 1000, groupID: 100, size: 1234,
            accessTime: now, modificationTime: now - 3600)
        let line = String(decoding: SFTPLongName.format(name: Array("notes.txt".utf8), status: status, now: now), as: UTF8.self)
        let date = SFTPLongName.dateString(modificationTime: now - 3600, now: now)
        #expect(line == "-rw-r--r--    1 1000     100          1234 \(date) notes.txt")
        #expect(date.wholeMatch(of: #/[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d/#) != nil)
    }

    @Test func oldAndFutureFilesShowTheYear() {
        let now = 1_700_000_000
        let old = SFTPLongName.dateString(modificationTime: now - 400 * 86_400, now: now)
        let future = SFTPLongName.dateString(modificationTime: now + 86_400, now: now)
        #expect(old.wholeMatch(of: #/[A-Z][a-z]{2} [ 1-3]\d  \d{4}/#) != nil, "\(old)")
        #expect(future.hasSuffix(" 2023"))
    }

    @Test func namesThatAreNotUTF8PassThroughUnchanged() {
        let name: [UInt8] = [0x66, 0xff, 0xfe]
        let status = SFTPFileStatus(mode: 0o100600, linkCount: 2, userID: 0, groupID: 0, size: 0, accessTime: 0, modificationTime: 0)
        #expect(SFTPLongName.format(name: name, status: status, now: 0).suffix(3) == name[...])
    }
}
