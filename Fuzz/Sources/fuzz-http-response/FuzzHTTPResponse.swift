@testable import ConvergeClient
import ConvergeNet
import ConvergeWire
import FuzzSupport

/// The clients' side: what a server (or whatever answers in its place) sends back.
///
/// Input: mode, 4 split sizes, then the server's bytes, delivered in those pieces.
/// - mode 0: `WebSocketDialer.upgrade` (wsproxy, tcptows, the agent): the answer head,
///   the refusal message built from a non-101 answer and its body, the 101 check.
/// - mode 1: `HTTPFetch.exchange` (`--authorized-keys-url`): status, redirects,
///   Content-Length and chunked bodies.
/// - mode 2: the head alone, checked against a fixed key (so a valid 101 is reachable).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPResponse(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte() % 3
    var splits = Splits(from: &input)
    let answer = input.rest()
    switch mode {
    case 0: dialerUpgrade(ScriptedStream(splits.chunks(of: answer)))
    case 1: fetch(ScriptedStream(splits.chunks(of: answer)))
    default: checkHead(answer)
    }
    return 0
}

private let url = try! ServerURL(parsing: "ws://converge.example:8000/client/job-42")
private let keysURL = try! ServerURL(parsing: "https://keys.example/octocat.keys", schemes: ["https", "http"])

private func dialerUpgrade(_ stream: ScriptedStream) {
    let dialer = WebSocketDialer(url: url, proxies: ProxySettings())
    do {
        _ = try dialer.upgrade(stream)
        // The key is random per dial: no scripted answer can carry its accept value.
        require(false, "a scripted answer passed the 101 check")
    } catch {
        requireOneLine(error.description)
    }
}

private func fetch(_ stream: ScriptedStream) {
    var fetch = HTTPFetch(url: keysURL, proxies: ProxySettings())
    fetch.limit = 4096  // small, so the fuzzer reaches the size checks
    do {
        switch try fetch.exchange(over: stream, target: keysURL, deadline: Clock.monotonic() + 60) {
        case .body(let body):
            require(body.count <= fetch.limit, "body of \(body.count) bytes passed a \(fetch.limit)-byte limit")
        case .redirect(let location):
            if let next = try? fetch.resolve(location, against: keysURL) {
                require(next.path.first == "/", "redirect to a path without '/': \(next.path)")
            }
        }
    } catch {
        requireOneLine(error.description)
    }
}

// RFC 6455's example key and its accept value (also in the seeds and the dictionary).
private let key = "dGhlIHNhbXBsZSBub25jZQ=="

private func checkHead(_ bytes: [UInt8]) {
    guard let (head, length) = try? HTTPResponseHead.parse(bytes) else { return }
    require(length <= bytes.count, "head longer than the bytes")
    let reparsed = try? HTTPResponseHead.parse(head.serialized, limit: .max)
    require(reparsed?.head == head, "serialized answer does not parse back")
    if (try? WebSocketHandshake.validateResponse(head, key: key)) != nil {
        require(head.status == 101 && head.headers["Sec-WebSocket-Accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
                "accepted a handshake answer with status \(head.status)")
    }
    let message = RefusalMessage.text(status: head.status, reason: head.reason, body: Array(bytes[length...]),
                                      contentType: head.headers["Content-Type"], url: url)
    requireOneLine(message)
}

/// What users see of a failure is one line of printable text: a hostile server cannot
/// write to their terminal.
private func requireOneLine(_ text: String) {
    require(!text.isEmpty && text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F },
            "error message is not one printable line: \(text.debugDescription)")
}
