import ConvergeClient
import ConvergeNet
import ConvergeWire

/// `--authorized-keys-url URL` (repeatable, and `--github-user`/`--gitlab-user`, which
/// name such a URL): OpenSSH public keys fetched once at start,
/// e.g. `https://github.com/USER.keys`, over the same path as the WebSocket: the
/// environment's proxy settings and TLS verified against the system CAs or `--cacert`
/// (`--insecure` turns verification off for these fetches too).
///
/// Every URL given must answer `200` with at least one usable key; otherwise the agent
/// stops with a one-line configuration error (exit 2). A login source the user asked for
/// by name that silently yields nothing would leave them locked out of the job they are
/// trying to debug, so it is better to fail at once, in the job's log.
public enum AuthorizedKeysURL {
    /// Keys from every source, in order; each source's flag names it in errors
    /// (`--authorized-keys-url`, `--github-user NAME`). `tls` is the WebSocket's context when
    /// the server URL is `wss://`; otherwise one is made from `caFile`/`insecure` when an
    /// https URL needs it.
    public static func fetch(sources: [AccountKeys.Source], tls: TLSContext?, caFile: String?, insecure: Bool,
                             log: Log, proxies: ProxySettings = .fromEnvironment(),
                             timeout: Double = 20) throws(AgentExit) -> [AuthorizedKey] {
        var all: [AuthorizedKey] = []
        var context = tls
        for source in sources {
            let flag = source.flag
            let url: ServerURL
            do {
                url = try ServerURL(parsing: source.url, schemes: ["https", "http"])
            } catch {
                throw .configuration("\(flag): \(error.description)")
            }
            if !url.secure && !insecure {
                throw .configuration("\(flag) \(url): plain http:// could be tampered with on the way; use https:// (or --insecure)")
            }
            if url.secure && context == nil {
                do {
                    context = try TLSContext(caFile: insecure ? nil : caFile, verify: !insecure)
                } catch {
                    throw .configuration("\(flag) \(url): \(error.description)")
                }
            }
            var fetch = HTTPFetch(url: url, tls: context, proxies: proxies)
            fetch.timeout = timeout
            fetch.limit = 1 << 20
            let body: [UInt8]
            do {
                body = try fetch.get()
            } catch {
                throw .configuration("\(flag): cannot fetch keys: \(error.description)")
            }
            let parsed = AuthorizedKeysFile(parsing: String(decoding: body, as: UTF8.self))
            for issue in parsed.issues { log.write("\(url): \(issue)") }
            guard !parsed.keys.isEmpty else {
                throw .configuration("\(flag) \(url) holds no usable key (\(body.count) bytes, \(parsed.issues.count) skipped line(s))")
            }
            for key in parsed.keys { log.write("\(url): line \(key.line): accepting \(key.logDescription)") }
            all += parsed.keys
        }
        return all
    }
}
