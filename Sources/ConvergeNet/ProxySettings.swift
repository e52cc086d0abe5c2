import ConvergeWire
import Glibc

/// An HTTP proxy that tunnels with CONNECT: `http://[user:password@]host[:port]`
/// (a bare `host:port` is accepted too; the default port is 1080, as curl's).
public struct ProxyServer: Equatable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int
    /// `Basic …` for Proxy-Authorization, when the URL carries credentials.
    public let authorization: String?

    public init(host: String, port: Int, authorization: String? = nil) {
        self.host = host
        self.port = port
        self.authorization = authorization
    }

    public init(parsing text: String) throws(NetError) {
        var rest = text[...].trimmingSpaces()
        if let range = rest.firstRange(of: "://") {
            let scheme = rest[..<range.lowerBound].lowercased()
            guard scheme == "http" else {
                throw NetError(.proxy, "unsupported proxy URL '\(LogText.escaped(text))': only http:// proxies are supported")
            }
            rest = rest[range.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var authorization: String? = nil
        if let at = rest.lastIndex(of: "@") {
            let credentials = ProxyServer.percentDecoded(rest[..<at])
            authorization = "Basic " + Base64.encode(Array(credentials.utf8))
            rest = rest[rest.index(after: at)...]
        }
        var host = rest
        var port = 1080
        if rest.first == "[" {
            guard let close = rest.firstIndex(of: "]") else { throw NetError(.proxy, "malformed proxy URL '\(LogText.escaped(text))'") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":", let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    throw NetError(.proxy, "malformed proxy URL '\(LogText.escaped(text))': invalid port")
                }
                port = p
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                throw NetError(.proxy, "malformed proxy URL '\(LogText.escaped(text))': invalid port")
            }
            port = p
        }
        guard !host.isEmpty else { throw NetError(.proxy, "malformed proxy URL '\(LogText.escaped(text))': no host") }
        self.init(host: String(host), port: port, authorization: authorization)
    }

    public var description: String { SocketAddress.display(host: host, port: port) }

    static func percentDecoded(_ text: Substring) -> String {
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.popFirst() {
            if byte == UInt8(ascii: "%"), bytes.count >= 2,
               let value = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(value)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// `no_proxy`: hosts reached directly. Comma- or space-separated entries, each `*`
/// (everything), a domain (`example.com` or `.example.com`: the domain and every name
/// under it), or an address (`127.0.0.1`, `::1`, `[::1]`); `:PORT` limits an entry to
/// one port. Names compare case-insensitively.
public struct NoProxyList: Equatable, Sendable {
    struct Entry: Equatable, Sendable {
        var suffix: String
        var port: Int?
    }

    let everything: Bool
    let entries: [Entry]

    public init(_ text: String) {
        var all = false
        var entries: [Entry] = []
        for raw in text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }) {
            var item = Substring(raw.lowercased())
            if item == "*" { all = true; continue }
            var port: Int? = nil
            if item.first == "[" {
                guard let close = item.firstIndex(of: "]") else { continue }
                let after = item[item.index(after: close)...]
                if after.first == ":" { port = Int(after.dropFirst()) }
                item = item[item.index(after: item.startIndex)..<close]
            } else if item.filter({ $0 == ":" }).count == 1, let colon = item.firstIndex(of: ":") {
                port = Int(item[item.index(after: colon)...])
                item = item[..<colon]
            }
            while item.hasPrefix("*") { item = item.dropFirst() }
            while item.hasPrefix(".") { item = item.dropFirst() }
            while item.hasSuffix(".") { item = item.dropLast() }
            if !item.isEmpty { entries.append(Entry(suffix: String(item), port: port)) }
        }
        everything = all
        self.entries = entries
    }

    /// True when `host` (name or address, without brackets) on `port` bypasses the proxy.
    public func matches(host: String, port: Int) -> Bool {
        if everything { return true }
        var name = Substring(host.lowercased())
        if name.hasPrefix("[") && name.hasSuffix("]") { name = name.dropFirst().dropLast() }
        while name.hasSuffix(".") { name = name.dropLast() }
        return entries.contains { entry in
            if let p = entry.port, p != port { return false }
            return name == Substring(entry.suffix) || name.hasSuffix("." + entry.suffix)
        }
    }
}

/// Which proxy, if any, a connection should go through, from the usual environment
/// variables: `https_proxy`/`HTTPS_PROXY` for wss://, `http_proxy`/`HTTP_PROXY` for
/// ws://, `no_proxy`/`NO_PROXY` for exceptions (lower case wins; empty means unset).
public struct ProxySettings: Equatable, Sendable {
    public var httpsProxy: String?
    public var httpProxy: String?
    public var noProxy: NoProxyList

    public init(httpsProxy: String? = nil, httpProxy: String? = nil, noProxy: String = "") {
        self.httpsProxy = httpsProxy
        self.httpProxy = httpProxy
        self.noProxy = NoProxyList(noProxy)
    }

    /// Settings from `lookup` (tests pass a dictionary's subscript).
    public init(environment lookup: (String) -> String?) {
        func value(_ names: String...) -> String? {
            for name in names { if let v = lookup(name), !v.isEmpty { return v } }
            return nil
        }
        self.init(httpsProxy: value("https_proxy", "HTTPS_PROXY"),
                  httpProxy: value("http_proxy", "HTTP_PROXY"),
                  noProxy: value("no_proxy", "NO_PROXY") ?? "")
    }

    /// Settings from this process's environment.
    public static func fromEnvironment() -> ProxySettings {
        ProxySettings { name in getenv(name).map { String(cString: $0) } }
    }

    /// The proxy for a connection to `host:port` (`secure` for wss://), or nil for a
    /// direct connection. Throws when the relevant variable holds a malformed URL.
    public func proxy(forHost host: String, port: Int, secure: Bool) throws(NetError) -> ProxyServer? {
        guard let text = secure ? httpsProxy : httpProxy, !noProxy.matches(host: host, port: port) else { return nil }
        do {
            return try ProxyServer(parsing: text)
        } catch {
            throw NetError(.proxy, "\(secure ? "https_proxy" : "http_proxy"): \(error.description)")
        }
    }
}
