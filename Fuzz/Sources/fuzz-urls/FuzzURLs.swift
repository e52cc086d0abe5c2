@testable import ConvergeAgent
@testable import ConvergeClient
import ConvergeCommandLine
import ConvergeNet
import ConvergeWire
import FuzzSupport

/// Addresses a user or a server hands our programs.
///
/// Input: mode, then the text.
/// - mode 0: a server URL (`ws://`, `wss://`) as given on a command line, and the
///   upgrade request each program builds from it.
/// - mode 1: an `--authorized-keys-url` (`https://`, `http://`), and a redirect
///   `Location` answered to it, resolved as HTTPFetch follows it.
/// - mode 2: `https_proxy` and `no_proxy` values, as the dialers read the environment.
/// - mode 3: a `--listen HOST:PORT`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzURLs(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte() % 4
    let text = input.restAsText()
    switch mode {
    case 0:
        guard let url = try? ServerURL(parsing: text) else { return 0 }
        requireSane(url)
        // wsproxy and tcptows dial the URL as given; the agent appends /agent/ID to its path.
        requireValidRequest(to: url)
        requireValidRequest(to: url.with(path: AgentRegistration.basePath(of: url) + "/agent/job-42"))
    case 1:
        let base = try! ServerURL(parsing: "https://keys.example/octocat.keys", schemes: ["https", "http"])
        if let url = try? ServerURL(parsing: text, schemes: ["https", "http"]) {
            requireSane(url)
            requireValidRequest(to: url)
        }
        let fetch = HTTPFetch(url: base, proxies: ProxySettings())
        if let next = try? fetch.resolve(text, against: base) {
            requireValidRequest(to: next)
        }
    case 2:
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let settings = ProxySettings(httpsProxy: String(parts[0]), noProxy: parts.count > 1 ? String(parts[1]) : "")
        for host in ["converge.example", "127.0.0.1", "::1", "sub.converge.example"] {
            guard let proxy = try? settings.proxy(forHost: host, port: 443, secure: true) else { continue }
            require(!proxy.host.isEmpty && (1...65535).contains(proxy.port), "proxy \(proxy.host):\(proxy.port)")
        }
    default:
        guard let address = try? HostPort.parse(text) else { return 0 }
        require((0...65535).contains(address.port) && !address.host.isEmpty, "address \(address)")
        require((try? HostPort.parse(address.description)) == address, "'\(address)' does not parse back")
    }
    return 0
}

private func requireSane(_ url: ServerURL) {
    require(!url.host.isEmpty && (1...65535).contains(url.port) && url.path.first == "/", "parsed \(url)")
    require((try? ServerURL(parsing: url.description, schemes: ["ws", "wss", "https", "http"])) == url,
            "'\(url)' does not parse back")
}

/// What we send for `url` is a request head our own server (and any other) can parse.
private func requireValidRequest(to url: ServerURL) {
    let request = WebSocketHandshake.clientRequest(host: url.hostHeader, path: url.path, key: "dGhlIHNhbXBsZSBub25jZQ==")
    let parsed = try? HTTPRequestHead.parse(request.serialized, limit: .max)
    require(parsed?.head == request, "the request for \(url.description.debugDescription) does not parse")
}
