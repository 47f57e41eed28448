import ArgumentParser
import Foundation
import SequnetAudio
import SequnetEngine
import SequnetMusic

/// `sequnet score`: how well a model predicts a recording.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Teacher-forced negative log-likelihood: bits per sample of a recording, or NLL per frame of piano rolls.",
        discussion: """
            Audio models: the model starts from silence; each sample of the recording (mixed to \
            mono, resampled to 16 kHz, mu-law quantised) adds -log2 softmax(logits)[class] and is \
            then fed in. The number is printed first on stdout; 8 bits/sample is a uniform guess.

            Piano-roll models: FILE is piano-roll text (one line of MIDI notes per step, --- \
            between sequences; datasets/music/*.txt). As the paper evaluates it, each sequence is \
            fed from zero state (a plain Seq-U-Net after its zero-frame pre-roll), frame t predicts \
            frame t+1, each frame costs the sum over the 88 keys of the binary cross-entropy with \
            logits (nats), and the figure printed first is the total over every predicted frame \
            of every sequence divided by their number.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions

    @Argument(help: ArgumentHelp("Recording to score (any audio libsndfile reads), or piano-roll text for a piano-roll model.",
                                 valueName: "FILE"),
              completion: .file())
    var audio: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws { try requireFile(audio, what: "audio file") }

    func run() throws {
        Interrupt.install()
        let loaded = try modelOptions.load()
        let model = loaded.model
        if model.codec is PianoRoll { return try scorePianoRolls(loaded) }
        let rate = MuLawAudio.sampleRate
        let recording = try readMonoAudio(atPath: audio, resampledTo: rate, shouldStop: { Interrupt.requested })
        let classes = recording.samples.map { Int(MuLawAudio.encode($0)) }
        guard !classes.isEmpty else { throw CLIError.emptyInput("audio file '\(audio)'") }

        let start = now()
        guard let stream = model.makeStream(prompt: [Int](), threads: threadOptions.threads, shouldStop: { Interrupt.requested }) else {
            throw CLIError.interrupted("while priming, before the first sample was scored")
        }
        var progress = ProgressLine(label: "score", total: classes.count, sampleRate: rate)
        var totalNats = 0.0
        var scored = 0
        for (i, cls) in classes.enumerated() {
            if i & 1023 == 0 {
                if Interrupt.requested { break }
                progress.update(done: i)
            }
            // A NaN would otherwise come out as "-nan bits/sample", status 0.
            guard allFinite(stream.logits) else { throw CLIError.nonFiniteScore(sample: i) }
            totalNats += negativeLogLikelihood(stream.logits, cls)
            scored += 1
            if i + 1 < classes.count { stream.step(cls) }
        }
        progress.finish(done: scored)
        let wall = now() - start
        if scored < classes.count {
            throw CLIError.interrupted("scored \(grouped(scored)) of \(grouped(classes.count)) samples")
        }
        let bits = totalNats / M_LN2 / Double(scored)
        let seconds = Double(scored) / Double(rate)

        if json {
            let report = ScoreReport(bitsPerSample: bits, samples: scored, seconds: seconds, model: loaded.path,
                                     architecture: type(of: model.config).architecture, precision: model.precision.rawValue,
                                     wallSeconds: wall)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(String(format: "%.4f bits/sample (%@ samples, %.2f s of audio, %@, %@ weights, %.2f s)",
                         bits, grouped(scored), seconds, loaded.path, model.precision.rawValue, wall))
        }
    }

    /// -ln softmax(logits)[target], in Double so long sums stay exact enough.
    private func negativeLogLikelihood(_ logits: UnsafeBufferPointer<Float>, _ target: Int) -> Double {
        var maxLogit = logits[0]
        for v in logits where v > maxLogit { maxLogit = v }
        var sum = 0.0
        for v in logits { sum += exp(Double(v - maxLogit)) }
        return Double(maxLogit) + log(sum) - Double(logits[target])
    }
}

extension Score {
    /// NLL per predicted frame over every sequence of a piano-roll text file.
    func scorePianoRolls(_ loaded: LoadedModel) throws {
        let model = loaded.model
        let sequences = try PianoRollText.read(contentsOfFile: audio)
        let frameCount = sequences.reduce(0) { $0 + max($1.count - 1, 0) }
        guard frameCount > 0 else { throw CLIError.emptyInput("piano-roll file '\(audio)' (no sequence of two or more frames)") }
        let start = now()
        let stream = model.makeStream(threads: threadOptions.threads)
        var progress = ProgressLine(label: "score", total: frameCount, sampleRate: nil, steps: "frames")
        var total = SequenceScore()
        for (index, sequence) in sequences.enumerated() {
            if Interrupt.requested { throw CLIError.interrupted("scored \(index) of \(sequences.count) sequences") }
            let frames = sequence.flatMap(\.multiHot)
            var bad = 0
            guard let score = frames.withUnsafeBufferPointer({ stream.score(frames: $0, frameCount: sequence.count, badFrame: &bad) }) else {
                throw CLIError.invalidInput("the model's logits are not finite at frame \(bad) of sequence \(index + 1)")
            }
            total = total + score
            progress.update(done: total.frames)
        }
        progress.finish(done: total.frames)
        let wall = now() - start
        if json {
            let report = PianoRollScoreReport(nllPerFrame: total.natsPerFrame, frames: total.frames, sequences: sequences.count,
                                              model: loaded.path, architecture: type(of: model.config).architecture,
                                              precision: model.precision.rawValue, wallSeconds: wall)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(String(format: "%.4f nats per frame (NLL of %@ predicted frames in %d sequences, %@, %@ weights, %.2f s)",
                         total.natsPerFrame, grouped(total.frames), sequences.count, loaded.path, model.precision.rawValue, wall))
        }
    }
}

/// `score --json` for a piano-roll model.
struct PianoRollScoreReport: Encodable {
    var nllPerFrame: Double
    var frames: Int
    var sequences: Int
    var model: String
    var architecture: String
    var precision: String
    var wallSeconds: Double

    enum CodingKeys: String, CodingKey {
        case nllPerFrame = "nll_per_frame", frames, sequences, model, architecture, precision
        case wallSeconds = "wall_seconds"
    }
}

/// `score --json` output.
struct ScoreReport: Encodable {
    var bitsPerSample: Double
    var samples: Int
    var seconds: Double
    var model: String
    var architecture: String
    /// The weight precision the model ran in.
    var precision: String
    var wallSeconds: Double

    enum CodingKeys: String, CodingKey {
        case bitsPerSample = "bits_per_sample", samples, seconds, model, architecture, precision
        case wallSeconds = "wall_seconds"
    }
}
