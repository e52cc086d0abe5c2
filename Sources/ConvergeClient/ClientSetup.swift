import ConvergeNet
import ConvergeWire

/// What wsproxy and tcptows share before dialing: the URL checked and the TLS settings
/// loaded once (tcptows loads them before it forks, so every connection reuses them).
public struct ClientSetup {
    public let url: ServerURL
    public let tls: TLSContext?

    /// `warn` receives the one-line `--insecure` warning (printed by the caller).
    public init(url text: String, caFile: String?, insecure: Bool, warn: (String) -> Void) throws(DialError) {
        do {
            url = try ServerURL(parsing: text)
        } catch {
            throw DialError(.invalidURL, error.description)
        }
        guard url.secure else {
            tls = nil
            return
        }
        if insecure {
            warn("warning: --insecure: the server's TLS certificate is not checked; anyone on the path can read and change this connection")
        }
        do {
            tls = try TLSContext(caFile: insecure ? nil : caFile, verify: !insecure)
        } catch {
            throw DialError(.tls, error.description)
        }
    }

    /// A dialer for the URL with these settings and the environment's proxy variables.
    public func dialer() -> WebSocketDialer {
        WebSocketDialer(url: url, tls: tls)
    }
}
