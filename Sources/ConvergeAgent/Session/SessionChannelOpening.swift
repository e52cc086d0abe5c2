import CLibSSH
import CShims
import ConvergeNet
import ConvergeWire
import Glibc
import SystemPackage

/// Channel opens (libssh callbacks): `session` channels, and `direct-tcpip` for ssh -L.
extension SSHServerSession {
    func openSessionChannel() -> OpaquePointer? {
        guard user != nil, let session else { return nil }
        guard channels.count < configuration.maxChannels else {
            log("refusing a channel: \(configuration.maxChannels) open (channel limit)")
            return nil
        }
        guard let channel = ssh_channel_new(session) else { return nil }
        channelCount += 1
        let served = SessionChannel(server: self, channel: channel, number: channelCount)
        var handlers = SessionChannel.handlers(context: Unmanaged.passUnretained(served).toOpaque())
        guard let installation = cshim_ssh_install_channel_callbacks(UnsafeMutableRawPointer(channel), &handlers) else {
            ssh_channel_free(channel)
            return nil
        }
        served.installation = installation
        channels.append(served)
        return channel
    }

    /// Messages no other callback took: direct-tcpip opens are ours; anything else
    /// (x11, agent forwarding, tcpip-forward, keepalives) gets libssh's refusal.
    func handleMessage(_ message: OpaquePointer) -> Int32 {
        let defaultReply: Int32 = 1
        guard user != nil,
              ssh_message_type(message) == Int32(SSH_REQUEST_CHANNEL_OPEN.rawValue),
              ssh_message_subtype(message) == Int32(SSH_CHANNEL_DIRECT_TCPIP.rawValue) else { return defaultReply }
        guard channels.count < configuration.maxChannels else {
            log("refusing a forward: \(configuration.maxChannels) channels open (channel limit)")
            return defaultReply
        }
        let host = ssh_message_channel_request_open_destination(message).map { String(cString: $0) } ?? ""
        let port = Int(ssh_message_channel_request_open_destination_port(message))
        let target = "\(LogText.escaped(host, limit: 100)):\(port)"
        if let option = keyOptions.deniedBy[.portForwarding] {
            log("forward to \(target) refused: key option \(option)")
            return defaultReply
        }
        if !keyOptions.permitOpen.isEmpty, !keyOptions.permitOpen.contains(where: { $0.allows(host: host, port: port) }) {
            log("forward to \(target) refused: not in key option permitopen=\"\(keyOptions.permitOpen.map(\.description).joined(separator: ","))\"")
            return defaultReply
        }
        var (connector, progress) = TCPConnector.start(host: host, port: port)
        progress = connector.settle(progress, milliseconds: 50)
        if case .failed(let reason) = progress {
            log("forward to \(target) refused: \(reason)")
            return defaultReply  // SSH_MSG_CHANNEL_OPEN_FAILURE
        }
        guard let channel = ssh_message_channel_request_open_reply_accept(message) else {
            if case .connected(let fd) = progress { try? fd.close() }
            if case .inProgress(let fd) = progress { try? fd.close() }
            return 0
        }
        channelCount += 1
        let forward = ForwardChannel(server: self, channel: channel, number: channelCount, target: target,
                                     connector: connector, progress: progress)
        var handlers = ForwardChannel.handlers(context: Unmanaged.passUnretained(forward).toOpaque())
        forward.installation = cshim_ssh_install_channel_callbacks(UnsafeMutableRawPointer(channel), &handlers)
        channels.append(forward)
        log("channel \(channelCount): forward to \(target)")
        return 0
    }
}
