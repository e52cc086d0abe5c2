import ArgumentParser
import Glibc

/// Runs a `ParsableCommand` with the exit codes our contract promises:
/// - `--help` (and `--version`): the text on stdout, exit 0;
/// - a usage error (unknown flag, bad value, failed `validate()`): on stderr, exit 2, the
///   first line `NAME: <what>` naming the flag, then the usage lines;
/// - an error thrown by `run()`: one line `NAME: <description>` on stderr, exit 1
///   (throw `ExitCode(n)` to exit with n silently).
///
/// ```swift
/// CommandMain.run(WSProxy.self)   // in main.swift; never returns
/// ```
public enum CommandMain {
    /// Exit status for usage errors (ArgumentParser's own default is 64).
    public static let usageExitCode: Int32 = 2

    /// `helpWithoutArguments`: when started with no argument at all, print the help to
    /// stderr and exit 2 (the agent's behaviour).
    public static func run<Command: ParsableCommand>(_ type: Command.Type, arguments: [String]? = nil,
                                                      helpWithoutArguments: Bool = false) -> Never {
        let argv = arguments ?? Array(CommandLine.arguments.dropFirst())
        let name = type.configuration.commandName ?? CommandLine.arguments.first.map(baseName) ?? "command"
        if helpWithoutArguments && argv.isEmpty {
            writeLine(2, type.helpMessage())
            exit(usageExitCode)
        }
        var command: ParsableCommand
        do {
            command = try parse(type, argv)
        } catch {
            exitForParseError(type, error, name: name)
        }
        do {
            try command.run()
            exit(0)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            // CleanExit (help requested from inside run) and the like keep their meaning.
            let status = type.exitCode(for: error)
            if status == .success {
                exitForParseError(type, error, name: name)
            }
            writeLine(2, "\(name): \(oneLine(String(describing: error)))")
            exit(1)
        }
    }

    /// `parseAsRoot`, except that an unknown option is the error even when an argument is
    /// missing too (ArgumentParser reports the missing one): `agent --no-such-flag` names
    /// the flag, not the URL.
    public static func parse<Command: ParsableCommand>(_ type: Command.Type, _ argv: [String]) throws -> ParsableCommand {
        do {
            return try type.parseAsRoot(argv)
        } catch let missing {
            guard isMissingArgument(type, missing) else { throw missing }
            // Stand-ins for the missing arguments: what is still wrong then is the real error.
            var padded = argv
            for _ in 0..<4 {
                padded.append("missing-argument")
                let retried: Error
                do {
                    _ = try type.parseAsRoot(padded)
                    break
                } catch {
                    retried = error
                }
                if type.message(for: retried).hasPrefix("Unknown option") { throw retried }
                if !isMissingArgument(type, retried) { break }
            }
            throw missing
        }
    }

    private static func isMissingArgument<Command: ParsableCommand>(_ type: Command.Type, _ error: Error) -> Bool {
        type.message(for: error).hasPrefix("Missing expected argument")
    }

    static func exitForParseError<Command: ParsableCommand>(_ type: Command.Type, _ error: Error, name: String) -> Never {
        if let code = error as? ExitCode { exit(code.rawValue) }
        let status = type.exitCode(for: error)
        if status == .success {
            // --help, --version: the full text on stdout.
            writeLine(1, type.fullMessage(for: error))
            exit(0)
        }
        let message = type.message(for: error)
        var text = "\(name): \(message.isEmpty ? "invalid arguments" : message)"
        // Usage lines after the first: the flag's name comes first, so it is what a
        // person (or a script grepping the first line) sees.
        let usage = type.usageString()
        if !usage.isEmpty { text += "\nUsage: \(usage)\n  See '\(name) --help' for more information." }
        writeLine(2, text)
        exit(usageExitCode)
    }

    /// Ends the program with one line `NAME: message` on stderr and `status`.
    public static func fail(name: String, _ message: String, status: Int32) -> Never {
        writeLine(2, "\(name): \(message)")
        exit(status)
    }

    /// Writes straight to the descriptor: stdio buffering would lose lines at `exit`.
    static func writeLine(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        if bytes.last != 0x0A { bytes.append(0x0A) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    static func oneLine(_ text: String) -> String {
        String(text.split(separator: "\n", omittingEmptySubsequences: true).first ?? "")
    }

    static func baseName(_ path: String) -> String {
        String(path.split(separator: "/").last ?? Substring(path))
    }
}
