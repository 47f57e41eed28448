import ArgumentParser
import Foundation
import SequnetEngine
import SequnetServe

/// `sequnet serve`: listen live in a browser; every listener is one stream
/// of a shared batch (the server itself is `SequnetServe`).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve live audio over HTTP to any number of listeners, with a page to listen in a browser.",
        discussion: """
            Open http://HOST:PORT/ and press Play. GET /api/stream?seed=S&temperature=T&min_p=P&seconds=X \
            sends a 16-bit mono 16 kHz WAV as it is generated (endless without seconds or samples); \
            its samples are the bytes of `sequnet generate --seed S --temperature T --min-p P \
            --seconds X -o -`. POST /api/stream with an audio file as the body primes the stream with \
            it (as generate --prompt). GET /api/info describes the model (as info --json), the limits \
            and every stream. A listener takes a free slot of a running batch (at its next \
            clock-cycle boundary, once the slot has had input-size samples of silence), or starts a \
            new batch with those arriving within --join-window, of --slots slots at least. \
            One line per request goes to stderr; SIGINT or SIGTERM ends every stream and exits 0. \
            --port 0 takes a free port; the bound address is printed on stderr ("listening on \
            http://127.0.0.1:PORT").
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: ArgumentHelp("Random weights of this architecture instead of a checkpoint (as bench --arch), "
                               + "e.g. sequnet:features=180,levels=11,depth=2,kernel=5.", valueName: "SPEC"))
    var arch: String?

    @Option(help: ArgumentHelp("Address to listen on.", valueName: "HOST"))
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("Port to listen on; 0 takes a free one.", valueName: "PORT"))
    var port = 8080

    @Option(name: .customLong("max-streams"), help: ArgumentHelp("Listeners at once; more are answered 503.", valueName: "N"))
    var maxStreams = 16

    @Option(help: ArgumentHelp("Seconds of audio generated ahead of a listener's playback at most.", valueName: "S"))
    var buffer = 2.0

    @Option(name: .customLong("join-window"),
            help: ArgumentHelp("Milliseconds within which arriving listeners start one batch together.", valueName: "MS"))
    var joinWindow = 100.0

    @Option(help: ArgumentHelp("Generator threads, each stepping one batch at a time.", valueName: "N"))
    var workers = 1

    @Option(help: ArgumentHelp("Samples generated per batch between scheduling decisions.", valueName: "N"))
    var chunk = 512

    @Option(help: ArgumentHelp("Slots of a new batch at least: spare slots take listeners who arrive later, "
                               + "at the next clock-cycle boundary.", valueName: "N"))
    var slots = 1

    func validate() throws {
        if modelOptions.model != nil && arch != nil { throw ValidationError("give -m MODEL or --arch SPEC, not both") }
        if let arch { do { _ = try ArchitectureSpec.parse(arch) } catch { throw ValidationError("\(error)") } }
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0...65535, got \(port)") }
        guard (1...256).contains(maxStreams) else { throw ValidationError("--max-streams must be 1...256, got \(maxStreams)") }
        guard buffer.isFinite, buffer >= 0.1, buffer <= 60 else { throw ValidationError("--buffer must be 0.1...60 seconds, got \(buffer)") }
        guard joinWindow.isFinite, joinWindow >= 0, joinWindow <= 10_000 else {
            throw ValidationError("--join-window must be 0...10000 ms, got \(joinWindow)")
        }
        guard (1...16).contains(workers) else { throw ValidationError("--workers must be 1...16, got \(workers)") }
        guard (16...16_384).contains(chunk) else { throw ValidationError("--chunk must be 16...16384, got \(chunk)") }
        guard (1...256).contains(slots) else { throw ValidationError("--slots must be 1...256, got \(slots)") }
    }

    func run() throws {
        let loaded: LoadedModel
        if let arch {
            let model = try Model(randomWeightsFor: try ArchitectureSpec.parse(arch), seed: 1,
                                  precision: modelOptions.precisionOptions.matrixPrecision ?? .fp32)
            try checkStreamBudget(model, allowLarge: modelOptions.allowLargeModel, naming: "--arch \(arch)")
            loaded = LoadedModel(model: model, path: arch + " (random weights)", loadSeconds: 0)
        } else {
            loaded = try modelOptions.load()
        }
        guard loaded.model.codec is MuLawAudio else {
            throw CLIError.invalidInput("serve streams audio; \(loaded.path) is not a mu-law audio model")
        }
        var options = ServerOptions()
        options.host = host
        options.port = port
        options.limits.maxStreams = maxStreams
        options.limits.bufferSeconds = buffer
        options.limits.joinWindowSeconds = joinWindow / 1000
        options.limits.threads = threadOptions.threads
        options.limits.workers = workers
        options.limits.chunk = chunk
        options.limits.slots = slots
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        options.modelInfo = try encoder.encode(InfoReport(loaded, stateBytes: loaded.model.config.streamStateBytes(batch: 1)))

        Console.error("serving \(loaded.summary) from \(loaded.path) (\(loaded.model.precision.rawValue), "
                      + "\(threadOptions.threads) thread\(threadOptions.threads == 1 ? "" : "s") per batch, "
                      + "at most \(maxStreams) listeners)")
        let server = SequnetServer(model: loaded.model, options: options)
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            do {
                try await server.run { address in Console.error("listening on http://\(address)/") }
            } catch {
                failure.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = failure.error { throw CLIError.invalidInput("server: \(error)") }
        Console.error("stopped")
    }
}

/// The server task's error, read after it has ended.
private final class FailureBox: @unchecked Sendable {
    var error: Error?
}

extension LoadedModel {
    /// A model built here rather than read from a file (`--arch`).
    init(model: Model, path: String, loadSeconds: Double) {
        self.model = model
        self.path = path
        self.loadSeconds = loadSeconds
    }
}
