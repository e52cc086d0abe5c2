@testable import ConvergeServer
import ConvergeWire
import FuzzSupport

/// The server's side of a request, as the master handles it: the head looked for in the
/// bytes read so far after every read (resuming where the last look stopped), the client
/// behind a trusted proxy taken from X-Forwarded-For, the request routed, and a WebSocket
/// upgrade validated and answered; the docs page takes its address from the headers.
///
/// Input: limit choice, 4 split sizes, then the bytes a client sends.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let limit = input.pick([8192, 1024, 64])  // the default --max-head-bytes and tight ones
    var splits = Splits(from: &input)
    let bytes = input.rest()

    // Read by read, as the master does, until a head or a refusal.
    var inbox: [UInt8] = []
    var boundary = HTTPHeadBoundary()
    var outcome: Result<(head: HTTPRequestHead, length: Int)?, HTTPError> = .success(nil)
    for chunk in splits.chunks(of: bytes) {
        inbox += chunk
        outcome = Result { () throws(HTTPError) in try HTTPRequestHead.parse(inbox, limit: limit, resuming: &boundary) }
        if case .success(nil) = outcome { continue }
        break
    }
    // Seeing the bytes in pieces must not change the answer.
    let whole = Result { () throws(HTTPError) in try HTTPRequestHead.parse(bytes, limit: limit) }
    switch (outcome, whole) {
    case (.success(let a), .success(let b)):
        require(a?.head == b?.head && a?.length == b?.length, "split and whole parses differ")
    case (.failure(let a), .failure(let b)):
        require(a.status == b.status, "split and whole parses fail differently: \(a) / \(b)")
    default:
        require(false, "split and whole parses disagree: \(outcome) / \(whole)")
    }
    if case .failure(let error) = outcome {
        require([400, 431, 505].contains(error.status), "unexpected status \(error.status)")
        _ = Responses.text(error.status, error.description)
        return 0
    }
    guard case .success(let parsed?) = outcome else { return 0 }
    let head = parsed.head
    require(parsed.length <= min(inbox.count, limit), "head length \(parsed.length) beyond the bytes or the limit")

    // What a client would send for this head parses back to it.
    let reparsed = try? HTTPRequestHead.parse(head.serialized, limit: .max)
    require(reparsed?.head == head, "serialized head does not parse back")

    // Behind a trusted proxy the client comes from X-Forwarded-For: an address (whose
    // canonical form names it in logs and per-address limits) or a 400 with a loggable line.
    do {
        let client = try trustedProxies.client(peer: proxy, forwardedFor: head.headers.values("X-Forwarded-For"))
        require(IPAddress(parsing: client.description) == client, "client \(client) does not parse back")
        requireLoggable(client.description)
    } catch {
        requireLoggable(error.description)
    }

    requireLoggable(LogText.escaped(head.target))
    switch Route.of(head) {
    case .registerAgent(let id), .connectClient(let id):
        require(RendezvousID.isValid(id), "routed an invalid ID")
        guard let key = try? WebSocketHandshake.validateUpgrade(head) else { return 0 }
        // Our 101 answer must satisfy a client (the dialer's check).
        let answer = WebSocketHandshake.acceptResponse(key: key, extraHeaders: [("X-Converge-User", "ci")])
        let seen = try? HTTPResponseHead.parse(answer.serialized)
        require(seen != nil && (try? WebSocketHandshake.validateResponse(seen!.head, key: key)) != nil,
                "a client would reject our own 101")
        _ = tokens.accepts(head.headers["X-Converge-Agent-Token"])
        // What an agent says about itself reaches the operator's page as text only.
        var view = SessionsView()
        view.offered(id: id, facts: AgentFacts(headers: { head.headers[$0] }), now: 1_765_000_000)
        view.state(id: id, AgentStateLine(parsing: Array(head.target.utf8)) ?? AgentStateLine(loggedIn: 0, expires: nil))
        let live = SessionsPage(view: view, totals: Metrics(), now: 1_765_000_000).live
        let tags = ["p ", "/p>", "table>", "/table>", "thead>", "/thead>", "tbody>", "/tbody>", "tr ", "tr>", "/tr>", "th>", "/th>",
                    "td>", "td ", "/td>", "a ", "/a>", "span ", "/span>"]
        for piece in live.split(separator: "<", omittingEmptySubsequences: false).dropFirst() {
            require(tags.contains { piece.hasPrefix($0) }, "an agent's header put markup on the page: <\(piece.prefix(40))")
        }
    case .docsPage:
        // The page shows this host in its commands and links.
        let (_, host) = DocsPage.publicAddress(headers: { head.headers[$0] }, fallbackHost: "127.0.0.1:8000")
        require(host.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: "\"") },
                "docs page host '\(host)' could inject markup")
    case .refuse(let status, let message, let headers):
        let answer = Responses.text(status, message, headers: headers)
        require((try? HTTPResponseHead.parse(answer))?.head.status == status, "refusal does not parse")
    case .sessions:
        // Credentials from anyone: a verdict, never a crash.
        _ = admin.check(authorization: head.headers["Authorization"])
    case .download, .metrics:
        break
    }
    return 0
}

private let tokens = try! AgentTokens(parsing: "# fuzz\n0123456789abcdef0123\n")
private let admin = AdminAccess(tokens: tokens, user: AdminAccess.User(name: "ci", password: "fuzz-password"))
private let trustedProxies = TrustedProxies([try! IPNetwork(parsing: "127.0.0.0/8"), try! IPNetwork(parsing: "fd00::/8")])
private let proxy = IPAddress(parsing: "127.0.0.1")!
