@testable import ConvergeAgent
import ConvergeNet
@testable import ConvergeServer
import ConvergeWire
import FuzzSupport

/// The agent leg's own messages, past the WebSocket layer.
///
/// Input: mode, then one message.
/// - mode 0: the server's `session key=value…` text frame, as the agent reads it.
/// - mode 1: a HandOff (master → splice worker, with the two sockets).
/// - mode 2: a WorkerReport line (splice worker → master).
/// - mode 3: a ControlMessage packet (agent main process ⇄ session processes).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgentLeg(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte() % 4
    let bytes = input.rest()
    switch mode {
    case 0:
        let text = String(decoding: bytes, as: UTF8.self)
        if let client = AgentRegistration.sessionClient(text) {
            requireLoggable(LogText.escaped(client))  // the agent logs who connected
        } else {
            require(!text.hasPrefix("session"), "a session message was not recognised")
        }
    case 1:
        guard let handOff = try? HandOff(decoding: bytes[...]) else { return 0 }
        require((try? HandOff(decoding: handOff.encoded[...])) == handOff, "HandOff does not survive encoding")
    case 2:
        guard let report = WorkerReport(line: String(decoding: bytes, as: UTF8.self)) else { return 0 }
        require(WorkerReport(line: report.line) == report, "WorkerReport '\(report.line)' does not survive encoding")
    default:
        guard let message = ControlMessage(decoding: bytes) else { return 0 }
        require(ControlMessage(decoding: message.encoded)?.encoded == message.encoded,
                "ControlMessage '\(String(decoding: message.encoded, as: UTF8.self))' does not survive encoding")
        // What the receivers do with the times: the main process logs the expiry that
        // follows from a login, a session process greets its shells with the expiry.
        switch message {
        case .login(let at, _, _, _):
            _ = Clock.isoTimestamp(Lifecycle.expiry(firstLogin: min(at, Clock.now()), holdMtime: nil, holdPeriod: 1800))
        case .expiry(let epoch):
            _ = Lifecycle.utc(epoch) + DurationText.of(epoch - Clock.now())
        default:
            break
        }
    }
    return 0
}
