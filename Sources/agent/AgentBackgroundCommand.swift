import ArgumentParser
import ConvergeAgent
import ConvergeCommandLine

/// `agent --wait` and `agent --stop`: a later step of the job, in the directory where
/// `agent --detach` ran, waits for the background agent or ends it. No URL: the agent is
/// found through the files it keeps there.
struct AgentBackgroundCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Wait for or stop the agent that `agent --detach` started in this directory.",
        discussion: """
        --wait: if nobody has logged in yet, the agent's --timeout starts again now; prints how \
        to connect again, follows the agent's log until it ends, and exits with its status.
        --stop: ends the agent now (sessions are closed with a message) and exits with its status.
        Either removes the agent's files (.converge-agent, converge-agent.log) once it has ended.
        """,
        version: BuildInfo.current.versionLine)

    @Flag(help: "Wait until the background agent ends; exit with its status.")
    var wait = false

    @Flag(help: "End the background agent now; exit with its status.")
    var stop = false

    static func isWanted(_ arguments: ArraySlice<String>) -> Bool {
        arguments.contains("--wait") || arguments.contains("--stop")
    }

    func validate() throws {
        if wait && stop { throw ValidationError("give --wait or --stop, not both") }
    }

    func run() throws {
        if wait { Detached.wait() }
        Detached.stop()
    }
}
