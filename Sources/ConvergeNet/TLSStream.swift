import COpenSSL
import Glibc
import SystemPackage

/// TLS client over a connected non-blocking socket (OpenSSL). Reads and writes never
/// block: OpenSSL's want-read/want-write come back as `StreamIO.wouldBlock`.
public final class TLSStream: ByteStream {
    public let readFD: FileDescriptor
    public var writeFD: FileDescriptor { readFD }
    private let ssl: OpaquePointer
    private let context: TLSContext  // kept alive as long as the connection
    private var closed = false

    /// Runs the handshake with SNI and name verification for `host`, waiting at most
    /// until `deadline`. Verification errors read like
    /// `TLS: certificate verify failed (unable to get local issuer certificate) for host.example`.
    /// On failure the socket is left open for the caller to close.
    public init(socket fd: FileDescriptor, host: String, context: TLSContext, deadline: Double) throws(NetError) {
        guard let ssl = SSL_new(context.context) else { throw TLSContext.failure("cannot create a TLS connection") }
        self.ssl = ssl
        self.context = context
        self.readFD = fd
        SSL_set_fd(ssl, fd.rawValue)
        var address = in6_addr()
        let isIP = inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
        if isIP {
            // No SNI for addresses (RFC 6066); match the certificate's IP SAN instead.
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            _ = host.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
            if context.verifies { SSL_set1_host(ssl, host) }
        }
        do {
            try handshake(host: host, deadline: deadline)
        } catch {
            SSL_free(ssl)
            closed = true
            throw error
        }
    }

    private func handshake(host: String, deadline: Double) throws(NetError) {
        while true {
            ERR_clear_error()
            let rc = SSL_connect(ssl)
            if rc == 1 { return }
            let error = SSL_get_error(ssl, rc)
            switch error {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                let events = Int16(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)
                guard try Poll.wait(readFD, for: events, until: deadline) != 0 else {
                    throw NetError(.timeout, "TLS: handshake with \(host) timed out", code: ETIMEDOUT)
                }
            case SSL_ERROR_SSL:
                let verify = SSL_get_verify_result(ssl)
                if verify != X509_V_OK {
                    ERR_clear_error()
                    let reason = String(cString: X509_verify_cert_error_string(verify))
                    throw NetError(.tls, "TLS: certificate verify failed (\(reason)) for \(host)")
                }
                throw TLSContext.failure("handshake with \(host) failed")
            case SSL_ERROR_SYSCALL where errno != 0:
                throw NetError.system(.tls, "TLS: handshake with \(host) failed")
            default:
                throw NetError(.tls, "TLS: \(host) closed the connection during the handshake (is it speaking TLS?)")
            }
        }
    }

    public var hasBufferedInput: Bool { !closed && SSL_has_pending(ssl) == 1 }

    /// Reads as many records as fit and are already at hand (read-ahead buffers several),
    /// so the caller gets large chunks and poll sees an empty buffer when it waits.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(NetError) -> StreamIO {
        guard let base = buffer.baseAddress else { return .bytes(0) }
        var total = 0
        ERR_clear_error()
        while total < buffer.count {
            var n = 0
            if SSL_read_ex(ssl, base + total, buffer.count - total, &n) == 1 {
                total += n
                if SSL_has_pending(ssl) != 1 { break }
                continue
            }
            let error = SSL_get_error(ssl, 0)
            if total > 0 { break }  // report the bytes; the condition comes back on the next call
            switch error {
            case SSL_ERROR_WANT_READ: return .wouldBlock(readable: true)
            case SSL_ERROR_WANT_WRITE: return .wouldBlock(readable: false)
            case SSL_ERROR_ZERO_RETURN: return .end
            case SSL_ERROR_SYSCALL:
                if errno == 0 { return .end }
                throw NetError.system(.io, "read")
            default: throw TLSContext.failure("read failed")
            }
        }
        return .bytes(total)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(NetError) -> StreamIO {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .bytes(0) }
        var total = 0
        ERR_clear_error()
        while total < bytes.count {
            var n = 0
            if SSL_write_ex(ssl, base + total, bytes.count - total, &n) == 1 {
                total += n
                continue
            }
            let error = SSL_get_error(ssl, 0)
            if total > 0 && (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) { break }
            switch error {
            case SSL_ERROR_WANT_WRITE: return .wouldBlock(readable: false)
            case SSL_ERROR_WANT_READ: return .wouldBlock(readable: true)
            case SSL_ERROR_SYSCALL where errno != 0: throw NetError.system(.io, "write")
            case SSL_ERROR_SYSCALL, SSL_ERROR_ZERO_RETURN: throw NetError(.io, "write: connection closed", code: EPIPE)
            default: throw TLSContext.failure("write failed")
            }
        }
        return .bytes(total)
    }

    /// Sends close_notify (best effort, never waits) and half-closes the socket.
    public func shutdownWrite() {
        guard !closed else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
        Glibc.shutdown(readFD.rawValue, Int32(SHUT_WR))
    }

    /// Frees the TLS state and closes the socket without sending anything (no
    /// close_notify), so a parent may call it on its copy after forking a child that
    /// keeps using the connection.
    public func close() {
        guard !closed else { return }
        closed = true
        SSL_free(ssl)
        Glibc.close(readFD.rawValue)
    }
}
