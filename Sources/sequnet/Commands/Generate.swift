import ArgumentParser
import Foundation
import SequnetAudio
import SequnetEngine

/// `sequnet generate`: a fixed amount of audio to a WAV file (or stdout).
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate audio into a 16-bit mono 16 kHz WAV file (-o - for raw s16le on stdout).",
        discussion: """
            With --prompt, the prompt (any audio libsndfile reads, mixed to mono, resampled to \
            16 kHz, mu-law quantised) primes the model: its last input-size samples, what the \
            model hears, are written first, as decoded mu-law, followed by the continuation (only \
            that tail is ever held in memory, however long the file); --seconds/--samples is the length of the continuation \
            (default 4 seconds). On SIGINT/SIGTERM generation stops, the WAV is finalised with \
            what was generated, and the exit status is 1.

            --streams N generates N streams at once, as one batch: every layer reads its \
            weights once per tick for all of them. Stream i (from 1) is seeded S+i-1 and \
            written to OUT with -i before its extension (out.wav: out-1.wav ... out-N.wav), or \
            to OUT with %d replaced by i. Give --prompt once for all streams or N times, one \
            per stream. Stream i is the same bytes as `generate --seed S+i-1` alone.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var length: LengthOptions

    @Option(help: ArgumentHelp("Audio file that primes the model (WAV, FLAC, OGG, ...); with --streams, once for all or once per stream.",
                               valueName: "AUDIO"),
            completion: .file())
    var prompt: [String] = []

    @Option(help: ArgumentHelp("Streams generated together as one batch, seeded S, S+1, ... (see below).", valueName: "N"))
    var streams: Int = 1

    @OptionGroup var sampling: SamplingOptions

    @Option(name: [.short, .long], help: ArgumentHelp("Output WAV file, or - for raw s16le on stdout.", valueName: "OUT"))
    var output: String

    static let defaultSeconds = 4.0

    func validate() throws {
        guard (1...256).contains(streams) else { throw ValidationError("--streams must be 1...256, got \(streams)") }
        guard prompt.count <= 1 || prompt.count == streams else {
            throw ValidationError("give --prompt once for all streams or \(streams) times, not \(prompt.count)")
        }
        for p in prompt { try requireFile(p, what: "prompt") }
        if output.isEmpty { throw ValidationError("-o needs a file name or -") }
        if streams > 1 && output == "-" { throw ValidationError("with --streams, -o must name files (out.wav or out-%d.wav)") }
    }

    /// Where stream `index` (0-based) goes: OUT itself for one stream, else
    /// OUT with %d replaced, or with -i before the extension.
    func outputPath(stream index: Int) -> String {
        guard streams > 1 else { return output }
        let number = String(index + 1)
        if output.contains("%d") { return output.replacingOccurrences(of: "%d", with: number) }
        let url = URL(fileURLWithPath: output)
        let ext = url.pathExtension
        let stem = ext.isEmpty ? output : String(output.dropLast(ext.count + 1))
        return stem + "-" + number + (ext.isEmpty ? "" : "." + ext)
    }

    func run() throws {
        Interrupt.install()
        let loaded = try modelOptions.load()
        let model = loaded.model
        let rate = MuLawAudio.sampleRate
        let paths = (0..<streams).map(outputPath(stream:))
        var prompts: [[Int]] = []
        do {
            for p in prompt { prompts.append(try promptClasses(fromAudio: p, keepingLast: model.config.inputSize)) }
        } catch AudioError.interrupted(let path) {
            // The usual promise: a valid WAV of what was generated, here nothing.
            for p in paths { try openSampleSink(p, sampleRate: rate).finish() }
            Console.error("interrupted while reading the prompt '\(path)': wrote 0 samples to \(paths.joined(separator: ", "))")
            throw ExitCode(1)
        }
        let streamPrompts = (0..<streams).map { prompts.isEmpty ? [] : prompts[prompts.count == 1 ? 0 : $0] }
        let count = length.sampleCount ?? Int(Self.defaultSeconds * Double(rate))

        let sinks = try paths.map { try openSampleSink($0, sampleRate: rate) }
        let samplers = (0..<streams).map { sampling.makeSampler(stream: $0) }
        let longest = streamPrompts.map(\.count).max() ?? 0
        Console.error("generating \(grouped(count)) samples (\(String(format: "%.2f", Double(count) / Double(rate))) s) "
                      + (streams > 1 ? "in each of \(streams) streams (seeds \(sampling.seed)...\(sampling.seed &+ UInt64(streams - 1))) " : "")
                      + "with \(loaded.summary) from \(loaded.path), \(sampling.summary)"
                      + (longest == 0 ? "" : ", prompt \(grouped(longest)) samples"))

        // Priming a large model takes seconds: a signal stops it too, and the
        // WAVs keep what was written (here, nothing but their headers).
        let primingStart = now()
        let batch = model.makeBatch(count: streams, threads: threadOptions.threads)
        guard batch.prime(with: streamPrompts, shouldStop: { Interrupt.requested }) else {
            for sink in sinks { try sink.finish() }
            Console.error("interrupted while priming: wrote 0 samples to \(paths.joined(separator: ", "))")
            throw ExitCode(1)
        }
        Console.error(firstSampleLine(seconds: now() - primingStart, primedSteps: model.config.inputSize))
        for (p, sink) in zip(streamPrompts, sinks) { try writeClasses(p, to: sink) }
        var progress = ProgressLine(label: "generate", total: count, sampleRate: rate)
        let result: GenerationResult
        do {
            result = try generate(batch: batch, samplers: samplers, count: count, chunk: 4096, to: sinks, progress: &progress)
        } catch {
            for sink in sinks { try? sink.finish() }   // valid (short) files beat torn ones
            throw error
        }
        for sink in sinks { try sink.finish() }

        let names = streams == 1 ? sinks[0].displayName : "\(paths.first!) ... \(paths.last!)"
        let total = (streamPrompts.first?.count ?? 0) + result.generated
        if result.interrupted {
            Console.error("interrupted: wrote \(grouped(total)) samples" + (streams > 1 ? " per stream" : "") + " to \(names)")
            throw ExitCode(1)
        }
        let rateAll = result.samplesPerSecond * Double(streams)
        Console.error(String(format: "wrote %@ samples%@ to %@ in %.2f s (%.0f samples/s%@, %.2fx real time%@)",
                             grouped(total), streams > 1 ? " per stream" : "", names, result.seconds,
                             rateAll, streams > 1 ? " in all" : "", result.samplesPerSecond / Double(rate),
                             streams > 1 ? " per stream" : ""))
    }
}
