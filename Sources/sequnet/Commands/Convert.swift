import ArgumentParser
import Foundation
import SequnetCheckpoint
import SequnetEngine

/// `sequnet convert`: any checkpoint to safetensors with sequnet metadata.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a checkpoint to safetensors (float32, bf16 or int8, with architecture metadata).",
        discussion: """
            The input is loaded strictly (every tensor used, every shape checked) before anything \
            is written; the output records the architecture and, for WaveNet, the layers per \
            block, so later loads need no --wavenet-layers.

            --precision bf16|int8 stores the weight matrices rounded as a load in that precision \
            rounds them (int8: codes with one float32 scale per output channel, NAME_scale), and \
            records the precision, which later loads use by default. Biases and one-hot input \
            tables stay float32.

            Language models: a .pt file carries no vocabulary (the reference rebuilds it from the \
            text on every run). --vocab FILE stores one (a symbol per line in token order, a line \
            holding one space for the space), or --vocab-from-text TRAIN VALID TEST rebuilds it \
            from the Penn Treebank files exactly as the reference does; --token-level says \
            whether the symbols are characters or words (read off --vocab if left out). \
            `score` and `generate` need it to read and write text.
            """)

    @Argument(help: ArgumentHelp("Checkpoint to read (torch zip, torch legacy or safetensors).", valueName: "IN"),
              completion: .file())
    var input: String

    @Argument(help: ArgumentHelp("safetensors file to write.", valueName: "OUT.safetensors"))
    var output: String

    @OptionGroup var layout: WaveNetLayoutOptions

    @Option(help: ArgumentHelp("Precision to store the weight matrices in: \(MatrixPrecision.names).", valueName: "P"))
    var precision: String = "fp32"

    @Option(name: .customLong("step-duration"),
            help: ArgumentHelp("Piano-roll models: seconds one step lasts when played (e.g. 0.5 for JSB's quarter notes at 120 bpm); `generate` uses it by default.",
                               valueName: "SECONDS"))
    var stepDuration: Double?

    @Option(help: ArgumentHelp("Language models: the vocabulary, one symbol per line in token order.", valueName: "FILE"),
            completion: .file())
    var vocab: String?

    @Option(name: .customLong("vocab-from-text"), parsing: .upToNextOption,
            help: ArgumentHelp("Language models: rebuild the vocabulary from the PTB train, valid and test files.",
                               valueName: "TRAIN VALID TEST"),
            completion: .file())
    var vocabFromText: [String] = []

    @Option(name: .customLong("token-level"), help: ArgumentHelp("characters or words.", valueName: "LEVEL"))
    var tokenLevel: String?

    func validate() throws {
        if vocab != nil && !vocabFromText.isEmpty { throw ValidationError("give --vocab or --vocab-from-text, not both") }
        if !vocabFromText.isEmpty {
            guard vocabFromText.count == 3 else { throw ValidationError("--vocab-from-text takes three files: TRAIN VALID TEST") }
            guard tokenLevel != nil else { throw ValidationError("--vocab-from-text needs --token-level characters or words") }
            for path in vocabFromText { try requireFile(path, what: "text file") }
        }
        if let vocab { try requireFile(vocab, what: "vocabulary file") }
        if let tokenLevel, TokenLevel(rawValue: tokenLevel) == nil {
            throw ValidationError("--token-level must be characters or words, got '\(tokenLevel)'")
        }
        if let stepDuration, !(stepDuration > 0 && stepDuration <= 60) {
            throw ValidationError("--step-duration must be a number of seconds above 0 and at most 60, got \(stepDuration)")
        }
        guard MatrixPrecision(named: precision) != nil else {
            throw ValidationError("unknown precision '\(precision)' (supported: \(MatrixPrecision.names))")
        }
        try requireFile(input, what: "checkpoint")
        if output.isEmpty || output == "-" { throw ValidationError("OUT must be a file name") }
        let resolve = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        if resolve(input) == resolve(output) { throw ValidationError("OUT would overwrite IN '\(input)'") }
    }

    func run() throws {
        let target = MatrixPrecision(named: precision)!
        let source = try readCheckpoint(atPath: input)
        var dict: StateDict
        do {
            dict = try Model.convertedStateDict(source, hyperparameters: layout.hyperparameters, precision: target)
        } catch let error as ModelLoadError {
            throw ModelLoadError.inFile(path: input, error)
        }
        var model = try Model(stateDict: dict)
        if let vocabulary = try readVocabulary() {
            guard case .embedding(let tokens) = model.config.input else {
                throw CLIError.invalidInput("--vocab is for language models; \(input) is not one")
            }
            guard vocabulary.symbols.count == tokens else {
                throw CLIError.invalidInput("the vocabulary has \(vocabulary.symbols.count) symbols, but the model has \(tokens) tokens")
            }
            let json = try JSONEncoder().encode(vocabulary.symbols)
            dict.metadata[Codecs.vocabularyKey] = String(decoding: json, as: UTF8.self)
            dict.metadata[Codecs.tokenLevelKey] = vocabulary.level.rawValue
            model = try Model(stateDict: dict)
        }
        if let stepDuration {
            guard model.codec is PianoRoll else {
                throw CLIError.invalidInput("--step-duration is for piano-roll models; \(input) is not one")
            }
            dict.metadata[ModelMetadata.stepDurationKey] = String(stepDuration)
        }
        try writeSafetensors(dict, toPath: output)
        let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? nil
        Console.error("wrote \(output): \(model.config.description), \(target.elementType) matrices, \(dict.names.count) tensors, "
                      + "\(grouped(model.parameterCount)) parameters, \(humanBytes(Double(size ?? 0))) "
                      + "(from \(input), \(source.format))")
    }

    /// The vocabulary `--vocab` or `--vocab-from-text` names, if either.
    private func readVocabulary() throws -> (symbols: [String], level: TokenLevel)? {
        func read(_ path: String) throws -> String {
            do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw CLIError.invalidInput("cannot read '\(path)' as UTF-8 text")
            }
        }
        let level = tokenLevel.flatMap(TokenLevel.init(rawValue:))
        if !vocabFromText.isEmpty {
            let vocabulary = PennTreebank.vocabulary(train: try read(vocabFromText[0]), valid: try read(vocabFromText[1]),
                                                     test: try read(vocabFromText[2]), level: level!)
            return (vocabulary.symbols, level!)
        }
        guard let vocab else { return nil }
        var lines = try read(vocab).components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else { throw CLIError.emptyInput("vocabulary file '\(vocab)'") }
        var seen = Set<String>()
        if let repeated = lines.indices.first(where: { !seen.insert(lines[$0]).inserted }) {
            throw CLIError.invalidInput("'\(vocab)' line \(repeated + 1) repeats the symbol '\(lines[repeated])'")
        }
        return (lines, level ?? (lines.allSatisfy { $0.count == 1 } ? .characters : .words))
    }
}
