import ConvergeClient
import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// How a jump process reaches agent ID: a WebSocket to `/client/ID`, as wsproxy would
/// open it. Without an upstream, over a socket the master hands over its control socket
/// (the master counts it under the person's address and labels it `ssh`); with one
/// (`--jump-upstream`, a cluster's front), dialed there, naming the person in
/// X-Forwarded-For.
struct JumpClientLeg {
    let control: Int32
    let upstream: ServerURL?
    let clientAddress: String

    /// The upgraded connection, or the one line to tell the person.
    func open(id: String) -> Result<WebSocketConnection, JumpRefusal> {
        let headers = [("X-Forwarded-For", clientAddress), ("X-Converge-Path", "ssh")]
        do {
            if let upstream {
                let url = try ServerURL(parsing: "\(upstream.secure ? "wss" : "ws")://\(upstream.hostHeader)/client/\(id)")
                return .success(try WebSocketDialer(url: url, headers: headers).dial())
            }
            let socket = try masterSocket()
            let url = try ServerURL(parsing: "ws://converge/client/\(id)")
            do {
                return .success(try WebSocketDialer(url: url, headers: headers).upgrade(FileStream(socket)))
            } catch {
                _ = Glibc.close(socket.rawValue)
                throw error
            }
        } catch let error as DialError {
            if error.status == 404 { return .failure(JumpRefusal("no agent registered under ID \"\(id)\"")) }
            return .failure(JumpRefusal(error.description))
        } catch let error as JumpRefusal {
            return .failure(error)
        } catch {
            return .failure(JumpRefusal("\(error)"))
        }
    }

    /// Asks the master for a client leg and waits (at most 5 s) for its answer.
    private func masterSocket() throws(JumpRefusal) -> FileDescriptor {
        let request = Array(JumpReport.openClientLeg.line.utf8)
        guard request.withUnsafeBytes({ send(control, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw JumpRefusal("the server is shutting down")
        }
        var ready = pollfd(fd: control, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, 5000) == 1,
              let (fds, payload) = try? FDPassing.receive(from: FileDescriptor(rawValue: control), maxFDs: 1, maxBytes: 512) else {
            throw JumpRefusal("the server did not answer")
        }
        guard let socket = fds.first, payload == Array("ok".utf8) else {
            for fd in fds { try? fd.close() }
            throw JumpRefusal(String(decoding: payload.dropFirst(6), as: UTF8.self))  // "error TEXT"
        }
        return socket
    }
}

/// Why a channel to an agent could not be opened: the line the person's `ssh` shows.
struct JumpRefusal: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
