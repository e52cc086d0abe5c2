@testable import ConvergeAgent
import ConvergeWire
import FuzzSupport

/// An `authorized_keys` file, from the job's directory or an `--authorized-keys-url`
/// answer: the whole input is the file's bytes, read as the agent reads them. The same
/// bytes are also read as one options prefix and as a `from=` pattern list, and each key's
/// options are checked at login from a few client addresses.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAuthorizedKeys(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let text = input.restAsText()
    let file = AuthorizedKeysFile(parsing: text)
    let policy = SSHAuthPolicy(authorizedKeys: file.keys)
    let clients = ["192.0.2.7:4711", "[2001:db8::1]:22", "10.1.2.3", "unknown"]
    var lastLine = 0
    for key in file.keys {
        require(key.line > lastLine, "keys out of line order")
        lastLine = key.line
        require(AuthorizedKeysFile.supportedTypes.contains(key.type), "accepted key type \(key.type)")
        require(AuthorizedKeysFile.blobType(key.blob) == key.type, "blob does not hold a \(key.type) key")
        // The agent logs each key it accepts, and a client offering it gets in unless an option says no.
        requireLoggable("accepting \(key.logDescription)")
        require((try? KeyOptions(parsing: key.optionsText)) == key.options, "options parse differently the second time")
        checkOptions(key.options)
        for client in clients {
            let decision = policy.checkKey(type: key.type, blob: key.blob, client: client, now: 1_700_000_000)
            let restricted = key.options.from != nil || key.options.expiry != nil
            switch decision {
            case .accepted(let chosen):
                require(chosen.blob == key.blob, "accepted another key")
                require(policy.refusal(of: chosen, client: client, now: 1_700_000_000) == nil, "accepted a line its options refuse")
            case .rejected(let reason):
                require(restricted, "a key without from= or expiry-time= is refused at login: \(reason)")
                requireLoggable(reason)
            }
        }
    }
    for issue in file.issues {
        requireLoggable(issue.description)
    }
    // The whole input as an options prefix, and as from= patterns.
    do {
        checkOptions(try KeyOptions(parsing: text))
    } catch {
        requireLoggable(error.description)
    }
    if let patterns = try? FromPatterns(parsing: text) {
        for client in clients + [text] { _ = patterns.allows(client: client) }
    }
    return 0
}

private func checkOptions(_ options: KeyOptions) {
    for permit in options.permitOpen {
        require((try? PermitOpen(parsing: permit.description)) == permit, "permitopen \(permit) does not read back")
    }
    if let expiry = options.expiry {
        require(expiry.epoch(utcOffset: 0).isFinite && expiry.epoch(utcOffset: 0) >= 0, "expiry before 1970")
        requireLoggable("expiry-time=\"\(LogText.escaped(expiry.description))\"")
    }
    for (permission, option) in options.deniedBy {
        require(!options.allows(permission), "\(permission) denied and allowed")
        requireLoggable(option)
    }
}
