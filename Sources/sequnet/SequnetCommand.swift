import ArgumentParser
import SequnetAudio
import SequnetEngine

#if canImport(Glibc)
import Glibc
#endif

/// The `sequnet` command: one subcommand per file under `Commands/`, shared
/// option groups in `Options.swift`.
///
/// Exit status: 0 on success (including a reader closing our stdout pipe),
/// 1 on a runtime error or an interrupted run, 64 on a usage error. Never
/// 128 or above: SIGINT/SIGTERM are caught where a command runs for long.
@main
struct Sequnet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sequnet",
        abstract: "Streaming Seq-U-Net and WaveNet audio generation.",
        discussion: """
            Models are 16 kHz, 8-bit mu-law Seq-U-Net or WaveNet checkpoints (torch .pt, \
            zip or legacy, or safetensors). Without -m, the default model is \
            models/sequnet-piano.safetensors, searched in $SEQUNET_MODEL, the repository \
            next to the executable, then ./models/.
            """,
        // A new subcommand goes in Commands/<Name>.swift and is listed here;
        // shared options live in Options.swift.
        subcommands: [Generate.self, Stream.self, Serve.self, Score.self, Logits.self, Info.self, Convert.self, Bench.self])

    /// Our own entry point instead of ArgumentParser's, so that every error is
    /// one `error: ...` line on stderr (ArgumentParser prints usage after
    /// validation errors) and the process-wide setup happens once.
    static func main() {
        // Writes to a closed pipe must fail with EPIPE, not kill us.
        ignoreBrokenPipeSignal()
        Interrupt.restoreQuitSignal()
        // ArgumentParser's `help` answers an unknown name with the top-level
        // help and status 0; a name that is not a command is a usage error.
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.count >= 2, arguments[0] == "help", !arguments[1].hasPrefix("-"),
           !subcommandNames.contains(arguments[1]) {
            fail("unknown command '\(arguments[1])' (commands: \(subcommandNames.joined(separator: ", ")))", status: 64)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
            flushStandardOutput()
        } catch let error as AudioError {
            if case .outputClosed = error { Glibc.exit(0) }   // the reader had enough: not an error
            fail(error.description, status: 1)
        } catch let exitCode as ExitCode {
            Glibc.exit(exitCode.rawValue)
        } catch {
            let status = exitCode(for: error)
            if status == .success {
                // --help, --version: ArgumentParser's text, on stdout.
                print(fullMessage(for: error))
                flushStandardOutput()
                Glibc.exit(0)
            }
            fail(message(for: error), status: status.rawValue)
        }
    }

    /// The subcommands' names, as typed.
    static var subcommandNames: [String] {
        configuration.subcommands.map { $0.configuration.commandName ?? String(describing: $0).lowercased() }
    }

    /// Text commands (`info`, `score`, `--help`) print through stdio's
    /// buffer, whose write errors would otherwise be dropped at exit: a full
    /// disk must be an error, a closed pipe stays a quiet end.
    static func flushStandardOutput() {
        errno = 0
        guard fflush(stdout) != 0 || ferror(stdout) != 0 else { return }
        let code = errno
        if code == EPIPE { Glibc.exit(0) }
        fail("cannot write 'stdout': \(code != 0 ? String(cString: strerror(code)) : "write error")", status: 1)
    }

    /// Prints `error: message` as a single line and exits with `status`.
    static func fail(_ message: String, status: Int32) -> Never {
        var text = message
        if text.hasPrefix("Error: ") { text.removeFirst("Error: ".count) }
        let line = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
        Console.error("error: \(line.isEmpty ? "failed" : line)")
        // Keep clear of 128+ (reserved for deaths by signal).
        Glibc.exit(status > 0 && status < 128 ? status : 1)
    }
}
