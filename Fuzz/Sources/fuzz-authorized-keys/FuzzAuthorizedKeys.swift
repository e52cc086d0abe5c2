@testable import ConvergeAgent
import ConvergeWire
import FuzzSupport

/// An `authorized_keys` file, from the job's directory or an `--authorized-keys-url`
/// answer: the whole input is the file's bytes, read as the agent reads them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAuthorizedKeys(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let file = AuthorizedKeysFile(parsing: input.restAsText())
    let policy = SSHAuthPolicy(authorizedKeys: file.keys)
    var lastLine = 0
    for key in file.keys {
        require(key.line > lastLine, "keys out of line order")
        lastLine = key.line
        require(AuthorizedKeysFile.supportedTypes.contains(key.type), "accepted key type \(key.type)")
        require(AuthorizedKeysFile.blobType(key.blob) == key.type, "blob does not hold a \(key.type) key")
        // The agent logs each key it accepts, and a client offering it gets in.
        requireLoggable("accepting \(key.type) key \(key.fingerprint) (\(LogText.escaped(key.comment)))")
        guard case .accepted = policy.checkKey(type: key.type, blob: key.blob) else {
            require(false, "a parsed key is refused at login")
            return 0
        }
    }
    for issue in file.issues {
        requireLoggable(issue.description)
    }
    return 0
}
