import Testing
@testable import ConvergeAgent
import ConvergeNet
import Glibc

/// The agent's main process reads SIGTERM, SIGINT and SIGHUP from a signalfd.
@Suite(.serialized) struct AgentSignalsTests {
    @Test func aBlockedSignalIsReadFromTheSignalFDOnce() throws {
        let signals = try SignalFD(AgentSignals.handled)
        defer {
            try? signals.descriptor.close()
            SignalFD.resetInChild(AgentSignals.handled)
        }
        #expect(signals.read().isEmpty)
        // raise() signals this thread, whose mask SignalFD just set (a process-wide kill
        // could land on another test thread, where SIGHUP is not blocked).
        raise(SIGHUP)
        #expect(signals.read() == [SIGHUP])
        #expect(signals.read().isEmpty)
    }
}
