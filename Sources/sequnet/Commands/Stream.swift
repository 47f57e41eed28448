import ArgumentParser
import SequnetAudio
import SequnetEngine

/// `sequnet stream`: raw audio to stdout as it is generated.
struct Stream: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream raw s16le mono 16 kHz audio to stdout as it is generated.",
        discussion: """
            Runs until --seconds/--samples are done, the reader closes the pipe, or SIGINT/SIGTERM \
            arrives; all three end with status 0. Samples are written in chunks of --chunk \
            samples. A --prompt primes the model but is not written. Example: \
            sequnet stream -m model.pt | aplay -f S16_LE -r 16000 -c 1
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var length: LengthOptions

    @Option(help: ArgumentHelp("Audio file that primes the model; not echoed.", valueName: "AUDIO"),
            completion: .file())
    var prompt: String?

    @OptionGroup var sampling: SamplingOptions

    @Option(help: ArgumentHelp("Samples per write (latency vs. system-call overhead).", valueName: "N"))
    var chunk: Int = 512

    func validate() throws {
        if let prompt { try requireFile(prompt, what: "prompt") }
        guard (1...65_536).contains(chunk) else { throw ValidationError("--chunk must be in 1...65536, got \(chunk)") }
    }

    func run() throws {
        Interrupt.install()
        let loaded = try modelOptions.load()
        let model = loaded.model
        guard model.codec is MuLawAudio else {
            throw CLIError.invalidInput("stream plays audio, and \(loaded.path) is not an audio model (\(model.codec.description)): use `generate -o -`, which streams its \(model.codec.stepName)s to stdout as they are made")
        }
        let rate = MuLawAudio.sampleRate
        let prompt: [Int]
        do {
            prompt = try self.prompt.map { try promptClasses(fromAudio: $0, keepingLast: model.config.inputSize) } ?? []
        } catch AudioError.interrupted {
            Console.error("stopped by \(Interrupt.signalName) while reading the prompt, before the first sample")
            return
        }
        let count = length.sampleCount
        let sampler = sampling.makeSampler()
        Console.error("streaming \(count.map { "\(grouped($0)) samples" } ?? "until stopped") with \(loaded.summary) "
                      + "from \(loaded.path): raw s16le, mono, \(rate) Hz")
        let primingStart = now()
        let batch = model.makeBatch(count: 1, threads: threadOptions.threads)
        guard batch.prime(with: [prompt], shouldStop: { Interrupt.requested }) else {
            Console.error("stopped by \(Interrupt.signalName) while priming, before the first sample")
            return
        }
        Console.error(firstSampleLine(seconds: now() - primingStart, primedSteps: model.config.inputSize))
        let sink = RawSink(.standardOutput())
        var progress = ProgressLine(label: "stream", total: count, sampleRate: rate)
        let result: GenerationResult
        do {
            result = try generate(batch: batch, samplers: [sampler], count: count, chunk: chunk,
                                  to: [sink], progress: &progress)
        } catch AudioError.outputClosed {
            if progress.enabled { Console.errorRaw("\n") }
            return   // the listener went away: a normal end for a stream
        }
        if result.interrupted {
            Console.error("stopped by \(Interrupt.signalName) after \(grouped(result.generated)) samples")
        }
    }
}
