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

            Language models (with a vocabulary, see `convert --vocab`): FILE is text (PTB's \
            ptb.test.txt, or any text in the vocabulary). Printed first is the official windowed \
            evaluation: bits per character for a character model, perplexity for a word model \
            (words: the text cut into 16 rows first, as the reference's batchify does). Each \
            window of W tokens starts from zero state and only its last S predictions count (the \
            TCN's 400/320 characters or 117/45 words; the Seq-U-Net's own sizes for 320 or 45 \
            outputs, 397/325 and 117/45 at k=3, L=4). Then, labelled, the same predictions made \
            by one continuous stream, which is what a streaming user gets: it differs for the \
            Seq-U-Net, whose windows each set their own clock phase.
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
        if let codec = model.codec as? TokenCodec { return try scoreText(loaded, codec: codec) }
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
            totalNats += crossEntropy(stream.logits, target: cls)
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
            try printJSON(report)
        } else {
            print(String(format: "%.4f bits/sample (%@ samples, %.2f s of audio, %@, %@ weights, %.2f s)",
                         bits, grouped(scored), seconds, loaded.path, model.precision.rawValue, wall))
        }
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
            try printJSON(report)
        } else {
            print(String(format: "%.4f nats per frame (NLL of %@ predicted frames in %d sequences, %@, %@ weights, %.2f s)",
                         total.natsPerFrame, grouped(total.frames), sequences.count, loaded.path, model.precision.rawValue, wall))
        }
    }
}

extension Score {
    /// The official windowed cross-entropy of a text, and the continuous stream's.
    func scoreText(_ loaded: LoadedModel, codec: TokenCodec) throws {
        let model = loaded.model
        guard let level = codec.level, codec.vocabulary != nil else { throw CLIError.invalidInput(TokenTextError.noVocabulary.description) }
        let text: String
        do { text = try String(contentsOfFile: audio, encoding: .utf8) } catch {
            throw CLIError.invalidInput("cannot read '\(audio)' as UTF-8 text")
        }
        let tokens: [Int]
        do { tokens = try codec.tokens(of: text) } catch let error as TokenTextError {
            throw CLIError.invalidInput("'\(audio)': \(error)")
        }
        guard let evaluation = WindowedEvaluation.official(for: model.config, level: level) else {
            throw CLIError.invalidInput("no official evaluation window for \(model.config.description)")
        }
        // The word task cuts the text into 16 rows (batchify), dropping the remainder.
        let rows = level == .words ? 16 : 1, rowLength = tokens.count / rows
        let streams = (0..<rows).map { Array(tokens[($0 * rowLength)..<(($0 + 1) * rowLength)]) }
        let windowCount = streams.reduce(0) { $0 + evaluation.starts(inStreamOf: $1.count).count }
        guard windowCount > 0 else {
            throw CLIError.emptyInput("'\(audio)' (\(tokens.count) tokens: shorter than one \(evaluation.length)-token window)")
        }
        let start = now()
        var progress = ProgressLine(label: "score", total: windowCount, sampleRate: nil, steps: "windows")
        guard let windowed = model.score(windowsOf: streams, evaluation: evaluation, threads: threadOptions.threads,
                                         shouldStop: { Interrupt.requested }, progress: { progress.update(done: $0) }) else {
            throw CLIError.interrupted("before every window was scored")
        }
        progress.finish(done: windowCount)
        guard let continuous = model.score(continuous: streams, evaluation: evaluation, threads: threadOptions.threads,
                                           shouldStop: { Interrupt.requested }) else {
            throw CLIError.interrupted("while scoring the continuous stream")
        }
        let wall = now() - start
        guard windowed.natsPerToken.isFinite, continuous.natsPerToken.isFinite else {
            throw CLIError.invalidInput("the model's logits are not finite on '\(audio)'")
        }
        let characters = level == .characters
        let figure = { (s: TokenScore) in characters ? s.bitsPerToken : s.perplexity }
        if json {
            let report = TokenScoreReport(
                metric: characters ? "bits_per_character" : "perplexity", value: figure(windowed),
                continuousValue: figure(continuous), crossEntropyNats: windowed.natsPerToken,
                continuousCrossEntropyNats: continuous.natsPerToken, predictions: windowed.count, windows: windowCount,
                windowLength: evaluation.length, windowScored: evaluation.scored, tokens: tokens.count,
                model: loaded.path, architecture: type(of: model.config).architecture, precision: model.precision.rawValue,
                wallSeconds: wall)
            try printJSON(report)
        } else {
            let unit = characters ? "bits per character" : "perplexity"
            print(String(format: "%.4f %@ (official windowed evaluation: %@ windows of %d tokens scoring the last %d, %@ predictions; %@, %@ weights, %.1f s)",
                         figure(windowed), unit, grouped(windowCount), evaluation.length, evaluation.scored, grouped(windowed.count),
                         loaded.path, model.precision.rawValue, wall))
            print(String(format: "%.4f %@ as one continuous stream (the same predictions, each stream fed once from zero state)",
                         figure(continuous), unit))
        }
    }
}

/// `score --json` for a language model.
struct TokenScoreReport: Encodable {
    var metric: String
    var value, continuousValue, crossEntropyNats, continuousCrossEntropyNats: Double
    var predictions, windows, windowLength, windowScored, tokens: Int
    var model, architecture, precision: String
    var wallSeconds: Double

    enum CodingKeys: String, CodingKey {
        case metric, value, predictions, windows, tokens, model, architecture, precision
        case continuousValue = "continuous_value", crossEntropyNats = "cross_entropy_nats"
        case continuousCrossEntropyNats = "continuous_cross_entropy_nats", windowLength = "window_length"
        case windowScored = "window_scored", wallSeconds = "wall_seconds"
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
