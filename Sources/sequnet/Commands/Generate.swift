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
            16 kHz, mu-law quantised) primes the model and is written first, as decoded mu-law, \
            followed by the continuation; --seconds/--samples is the length of the continuation \
            (default 4 seconds). On SIGINT/SIGTERM generation stops, the WAV is finalised with \
            what was generated, and the exit status is 1.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var length: LengthOptions

    @Option(help: ArgumentHelp("Audio file that primes the model (WAV, FLAC, OGG, ...).", valueName: "AUDIO"),
            completion: .file())
    var prompt: String?

    @OptionGroup var sampling: SamplingOptions

    @Option(name: [.short, .long], help: ArgumentHelp("Output WAV file, or - for raw s16le on stdout.", valueName: "OUT"))
    var output: String

    static let defaultSeconds = 4.0

    func validate() throws {
        if let prompt { try requireFile(prompt, what: "prompt") }
        if output.isEmpty { throw ValidationError("-o needs a file name or -") }
    }

    func run() throws {
        Interrupt.install()
        let loaded = try modelOptions.load()
        let model = loaded.model
        let rate = MuLawAudio.sampleRate
        let prompt: [Int]
        do {
            prompt = try self.prompt.map { try promptClasses(fromAudio: $0) } ?? []
        } catch AudioError.interrupted(let path) {
            // The usual promise: a valid WAV of what was generated, here nothing.
            let sink = try openSampleSink(output, sampleRate: rate)
            try sink.finish()
            Console.error("interrupted while reading the prompt '\(path)': wrote 0 samples to \(sink.displayName)")
            throw ExitCode(1)
        }
        let count = length.sampleCount ?? Int(Self.defaultSeconds * Double(rate))

        let sink = try openSampleSink(output, sampleRate: rate)
        let sampler = sampling.makeSampler()
        Console.error("generating \(grouped(count)) samples (\(String(format: "%.2f", Double(count) / Double(rate))) s) "
                      + "with \(loaded.summary) from \(loaded.path), \(sampling.summary)"
                      + (prompt.isEmpty ? "" : ", prompt \(grouped(prompt.count)) samples"))

        // Priming a large model takes seconds: a signal stops it too, and the
        // WAV keeps what was written (here, nothing but its header).
        guard let stream = model.makeStream(prompt: prompt, threads: threadOptions.threads, shouldStop: { Interrupt.requested }) else {
            try sink.finish()
            Console.error("interrupted while priming: wrote 0 samples to \(sink.displayName)")
            throw ExitCode(1)
        }
        try writeClasses(prompt, to: sink)
        var progress = ProgressLine(label: "generate", total: count, sampleRate: rate)
        let result: GenerationResult
        do {
            result = try generate(stream: stream, sampler: sampler, count: count, chunk: 4096,
                                  to: sink, progress: &progress)
        } catch {
            try? sink.finish()   // a valid (short) file beats a torn one
            throw error
        }
        try sink.finish()

        let total = prompt.count + result.generated
        if result.interrupted {
            Console.error("interrupted: wrote \(grouped(total)) samples to \(sink.displayName)")
            throw ExitCode(1)
        }
        Console.error(String(format: "wrote %@ samples to %@ in %.2f s (%.0f samples/s, %.2fx real time)",
                             grouped(total), sink.displayName, result.seconds, result.samplesPerSecond,
                             result.samplesPerSecond / Double(rate)))
    }
}
