import ArgumentParser
import Foundation
import SequnetAudio
import SequnetEngine

/// `sequnet generate`: a fixed amount of audio to a WAV file (or stdout).
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate audio (16-bit mono 16 kHz WAV, or raw s16le with -o -), or music from a piano-roll model.",
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

            Piano-roll models (the paper's music Seq-U-Net and TCN): --steps N frames are drawn \
            after the prompt (default 64), each key its own Bernoulli draw from its sigmoid at \
            --temperature (0: every key whose logit is positive), seeded by --seed. -o OUT.mid \
            writes a MIDI file, OUT.txt piano-roll text (one line of MIDI notes per step), \
            OUT.wav the piece played by FluidSynth's General MIDI piano, and -o - streams the \
            text to stdout as it is generated. --prompt takes piano-roll text (its first \
            sequence) or a MIDI file (quantised to the step grid). A step lasts --step-duration \
            seconds (default: what `convert --step-duration` recorded in the model, else 0.25).

            Language models (with a vocabulary, see `convert --vocab`): --prompt is the text to \
            continue (default: a line break), --tokens N the characters or words to add (default \
            200), drawn at --temperature (and --min-p) with --seed. The text streams to stdout as \
            it is generated with -o -, or goes to a file; words are separated by spaces and \
            <eos> is written as a line break.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var length: LengthOptions

    @Option(help: ArgumentHelp("What the model continues: an audio file (WAV, FLAC, ...; with --streams, once for all or once per stream), piano-roll text or MIDI, or text for a language model.",
                               valueName: "PROMPT"),
            completion: .file())
    var prompt: [String] = []

    @Option(help: ArgumentHelp("Language models: characters or words to generate.", valueName: "N"))
    var tokens: Int?

    @Option(help: ArgumentHelp("Streams generated together as one batch, seeded S, S+1, ... (see below).", valueName: "N"))
    var streams: Int = 1

    @OptionGroup var sampling: SamplingOptions

    @Option(help: ArgumentHelp("Steps to generate: frames of a piano-roll model, samples of an audio model.", valueName: "N"))
    var steps: Int?

    @Option(name: .customLong("step-duration"),
            help: ArgumentHelp("Piano-roll models: seconds per step in MIDI, WAV and MIDI prompts.", valueName: "SECONDS"))
    var stepDuration: Double?

    @Option(help: ArgumentHelp("Piano-roll models: the SoundFont OUT.wav is played with.", valueName: "SF2"),
            completion: .file())
    var soundfont: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Output WAV file, or - for raw s16le on stdout.", valueName: "OUT"))
    var output: String

    static let defaultSeconds = 4.0

    func validate() throws {
        if let steps, steps <= 0 { throw ValidationError("--steps must be positive, got \(steps)") }
        if steps != nil && length.sampleCount != nil { throw ValidationError("give --steps or --seconds/--samples, not both") }
        if let stepDuration, !(stepDuration > 0 && stepDuration <= 60) {
            throw ValidationError("--step-duration must be a number of seconds above 0 and at most 60, got \(stepDuration)")
        }
        if let soundfont { try requireFile(soundfont, what: "soundfont") }
        guard (1...256).contains(streams) else { throw ValidationError("--streams must be 1...256, got \(streams)") }
        guard prompt.count <= 1 || prompt.count == streams else {
            throw ValidationError("give --prompt once for all streams or \(streams) times, not \(prompt.count)")
        }
        if let tokens, tokens <= 0 { throw ValidationError("--tokens must be positive, got \(tokens)") }
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
        if let codec = model.codec as? TokenCodec { return try generateText(loaded, codec: codec) }
        guard tokens == nil else { throw CLIError.invalidInput("--tokens is for language models; \(loaded.path) is not one") }
        for p in prompt { try requireFile(p, what: "prompt") }
        if model.codec is PianoRoll { return try generateMusic(loaded) }
        guard stepDuration == nil, soundfont == nil else {
            throw CLIError.invalidInput("--step-duration and --soundfont are for piano-roll models; \(loaded.path) makes audio")
        }
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
        let count = steps ?? length.sampleCount ?? Int(Self.defaultSeconds * Double(rate))

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

    /// Frames from a piano-roll model (see the discussion above).
    private func generateMusic(_ loaded: LoadedModel) throws {
        guard length.sampleCount == nil else {
            throw CLIError.invalidInput("a piano-roll model counts frames: give --steps N, not --seconds/--samples")
        }
        guard streams == 1 else { throw CLIError.invalidInput("--streams is for audio models; generate one piece at a time") }
        guard sampling.minP == 0 else { throw CLIError.invalidInput("--min-p is for softmax outputs; a piano roll draws each key alone") }
        guard prompt.count <= 1 else { throw CLIError.invalidInput("give one --prompt") }
        let model = loaded.model
        let destination = try PianoRollDestination(output)
        let secondsPerStep = stepDuration ?? model.stepDuration ?? 0.25
        let promptFrames = try prompt.first.map { try readPianoRollPrompt($0, secondsPerStep: secondsPerStep) } ?? []
        let count = steps ?? 64
        Console.error("generating \(grouped(count)) frames (\(String(format: "%.3g", secondsPerStep)) s each) with \(loaded.summary) from \(loaded.path), "
                      + "temperature \(sampling.temperature), seed \(sampling.seed)"
                      + (promptFrames.isEmpty ? "" : ", prompt \(promptFrames.count) frames"))
        let generation = PianoRollGeneration(model: model, threads: threadOptions.threads, temperature: sampling.temperature,
                                             seed: sampling.seed, secondsPerStep: secondsPerStep, soundFont: soundfont)
        let result = try generation.run(prompt: promptFrames, steps: count, to: destination, modelName: loaded.path)
        let name = output == "-" ? "stdout" : output
        let total = promptFrames.count + result.generated
        if result.interrupted {
            Console.error("interrupted: wrote \(grouped(total)) frames to \(name)")
            throw ExitCode(1)
        }
        Console.error(String(format: "wrote %@ frames (%.1f s of music) to %@ in %.2f s (%.0f frames/s)", grouped(total),
                             Double(total) * secondsPerStep, name, result.seconds,
                             result.seconds > 0 ? Double(result.generated) / result.seconds : 0))
    }

    /// Text from a language model (see the discussion above).
    private func generateText(_ loaded: LoadedModel, codec: TokenCodec) throws {
        guard length.sampleCount == nil, steps == nil else {
            throw CLIError.invalidInput("a language model counts tokens: give --tokens N")
        }
        guard streams == 1 else { throw CLIError.invalidInput("--streams is for audio models; generate one text at a time") }
        guard prompt.count <= 1 else { throw CLIError.invalidInput("give one --prompt") }
        guard stepDuration == nil, soundfont == nil else {
            throw CLIError.invalidInput("--step-duration and --soundfont are for piano-roll models")
        }
        guard let vocabulary = codec.vocabulary, let level = codec.level else {
            throw CLIError.invalidInput(TokenTextError.noVocabulary.description)
        }
        let model = loaded.model
        let promptText = prompt.first ?? ""
        // Without a prompt (or with one of white space only) the text starts at a line break.
        var context: [Int] = []
        do { context = try codec.tokens(of: promptText) } catch let error as TokenTextError {
            throw CLIError.invalidInput("--prompt: \(error)")
        }
        // A word prompt is read like a line of the corpus, which ends in <eos>; unless the
        // prompt itself ends in a line break, the text goes on from its last word instead.
        if level == .words, !promptText.hasSuffix("\n"), context.count > 1,
           let lineBreak = vocabulary.token(of: PennTreebank.wordLineBreak), context.last == lineBreak {
            context.removeLast()
        }
        if context.isEmpty {
            guard let lineBreak = try? codec.tokens(of: "\n"), !lineBreak.isEmpty else {
                throw CLIError.invalidInput("without --prompt the text starts at a line break (<eos>), which this vocabulary cannot spell: give --prompt")
            }
            context = lineBreak
        }
        let count = tokens ?? 200
        let out = output == "-" ? RawOutput.standardOutput() : try RawOutput.open(path: output)
        if output == "-" { ignoreBrokenPipeSignal() }
        Console.error("generating \(grouped(count)) \(level == .characters ? "characters" : "words") with \(loaded.summary) from \(loaded.path), "
                      + sampling.summary + (promptText.isEmpty ? "" : ", prompt \(context.count) tokens"))
        let stream = model.makeStream(threads: threadOptions.threads)
        stream.startSequence(ofLength: context.count)
        for token in context { stream.step(token) }
        let sampler = CategoricalSampler(temperature: sampling.temperature, minP: sampling.minP, seed: sampling.seed,
                                         classes: vocabulary.count)
        var text = TextOutput(out, level: level)
        var interrupted = false, generated = 0
        let start = now()
        do {
            // Words are echoed as the model read them (an unknown word as <unk>), each
            // followed by its space, so the first generated word does not run into the last.
            if level == .words && !promptText.isEmpty {
                for token in context { try text.write(codec.text(of: token)) }
            } else {
                try text.write(promptText)
            }
            while generated < count {
                if Interrupt.requested { interrupted = true; break }
                let next = sampler.sample(stream.logits)
                try text.write(codec.text(of: next))
                generated += 1
                if generated < count { stream.step(next) }
            }
            try text.finish()
        } catch AudioError.outputClosed {
            // the reader went away: stop quietly
        }
        try? out.close()
        let seconds = now() - start
        if interrupted {
            Console.error("interrupted: wrote \(grouped(generated)) generated tokens to \(out.name)")
            throw ExitCode(1)
        }
        Console.error(String(format: "wrote %@ tokens to %@ in %.2f s (%.0f tokens/s)", grouped(generated), out.name, seconds,
                             seconds > 0 ? Double(generated) / seconds : 0))
    }
}

/// Generated text on its way out: a character model's `<eos>` (five
/// characters) is written as the line break it stands for, each piece as
/// soon as it cannot be the start of one.
struct TextOutput {
    let output: RawOutput
    let level: TokenLevel
    private var pending = ""

    init(_ output: RawOutput, level: TokenLevel) { (self.output, self.level) = (output, level) }

    mutating func write(_ piece: String) throws {
        guard level == .characters else { return try emit(piece) }
        for character in piece {
            pending.append(character)
            if pending == PennTreebank.characterLineBreak {
                pending = ""
                try emit("\n")
            } else if !PennTreebank.characterLineBreak.hasPrefix(pending) {
                let flushed = pending
                pending = ""
                try emit(flushed)
            }
        }
    }

    mutating func finish() throws {
        try emit(pending + "\n")
        pending = ""
    }

    private func emit(_ text: String) throws {
        guard !text.isEmpty else { return }
        try Array(text.utf8).withUnsafeBytes { try output.write($0) }
    }
}
