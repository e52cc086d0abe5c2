import ConvergeNet
import ConvergeWire
import Glibc

/// The jump process: forked by the server's master for one accepted SSH connection,
/// holding only that socket and its control socket to the master (the master set
/// that up). It serves the connection and returns when the person has left. A crash
/// or kill of it ends that person's channels and nothing else.
public enum JumpProcess {
    public static func serve(client: Int32, control: Int32, peer: String, address: String, settings: JumpSettings, upstream: ServerURL?) {
        Socket.ignoreBrokenPipeSignal()
        let leg = JumpClientLeg(control: control, upstream: upstream, clientAddress: address)
        JumpSession(socket: client, peer: peer, leg: leg, settings: settings).run()
    }
}
