import ArgumentParser
import Foundation
import SequnetEngine

/// The audio rate lengths are given at. They are validated before a model
/// is loaded; every audio model runs through the mu-law codec, at its rate.
let modelSampleRate = MuLawAudio.sampleRate

/// `--wavenet-layers N`: how a WaveNet checkpoint's layers split into blocks
/// (the state dict records only the total).
struct WaveNetLayoutOptions: ParsableArguments {
    @Option(name: .customLong("wavenet-layers"),
            help: ArgumentHelp("Layers per block of a WaveNet checkpoint. A torch state dict records only "
                               + "layers x blocks: without this, 52 layers are read as the paper's 13 x 4 and any "
                               + "other count is refused. safetensors from `sequnet convert` record it.",
                               valueName: "N"))
    var layersPerBlock: Int?

    func validate() throws {
        if let n = layersPerBlock, n <= 0 {
            throw ValidationError("--wavenet-layers must be positive, got \(n)")
        }
    }

    /// The value by its reference name, for `Model(contentsOf:hyperparameters:)`.
    var hyperparameters: [String: Int] { layersPerBlock.map { ["layers_per_block": $0] } ?? [:] }
}

/// `-m/--model PATH` plus the WaveNet layout: which checkpoint to run.
struct ModelOptions: ParsableArguments {
    @Option(name: [.customShort("m"), .long],
            help: ArgumentHelp("Checkpoint: torch .pt (zip or legacy) or .safetensors. Default: \(ModelLocator.defaultRelativePath).",
                               valueName: "PATH"),
            completion: .file())
    var model: String?

    @OptionGroup var layout: WaveNetLayoutOptions

    @Flag(name: .customLong("allow-large-model"),
          help: "Stream a model over the default limits (256 MiB of state per stream, 2^22 priming steps, 10^12 multiply-adds of priming), up to half the machine's memory.")
    var allowLargeModel = false

    @OptionGroup var precisionOptions: PrecisionOptions

    func validate() throws {
        if let model { try requireFile(model, what: "model file") }
    }

    /// Loads the named model, or the default one, and (`forStreaming`) checks
    /// that a stream of it fits the budget.
    func load(forStreaming: Bool = true) throws -> LoadedModel {
        let path = try model ?? ModelLocator.defaultModelPath()
        let loaded = try LoadedModel(path: path, hyperparameters: layout.hyperparameters,
                                     precision: precisionOptions.matrixPrecision)
        if forStreaming { try loaded.checkBudget(allowLarge: allowLargeModel) }
        return loaded
    }
}

/// `--precision fp32|bf16|int8`: how the weight matrices are stored and read.
struct PrecisionOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Weight precision: fp32 (exact to the reference), bf16 (half the bytes) or int8 (a quarter, one scale per "
        + "output row). Activations and sums stay float32. Any checkpoint runs in any precision; default: the "
        + "precision the file was converted to, else fp32. See README, \"Precision\", for what each costs.",
        valueName: "P"))
    var precision: String?

    func validate() throws {
        if let precision, MatrixPrecision(named: precision) == nil {
            throw ValidationError("unknown precision '\(precision)' (supported: \(MatrixPrecision.names))")
        }
    }

    var matrixPrecision: MatrixPrecision? { precision.flatMap(MatrixPrecision.init(named:)) }
}

/// `--threads T`: threads sharing each step of a stream.
struct ThreadOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Threads computing each step: every product's rows are split between them, each thread always taking the "
        + "same rows. The output is the same bytes for any T. Pays off for large models (the paper's); "
        + "a small model runs fastest on 1.", valueName: "T"))
    var threads: Int = 1

    func validate() throws {
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be 1...64, got \(threads)") }
    }
}

/// `--temperature`, `--min-p` and `--seed`: everything the sampler needs.
struct SamplingOptions: ParsableArguments {
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Softmax temperature; 0 always takes the most likely class.", valueName: "T"))
    var temperature: Float = 1.0

    @Option(name: .customLong("min-p"), parsing: .unconditional,
            help: ArgumentHelp("Drop classes less likely than P times the most likely one before each draw "
                               + "(0 keeps them all). Rare far-off draws are heard as clicks and hiss.",
                               valueName: "P"))
    var minP: Float = 0

    @Option(help: ArgumentHelp("Random seed; the same seed, model and options give the same audio.", valueName: "N"))
    var seed: UInt64 = 0

    func validate() throws {
        guard temperature.isFinite, temperature >= 0 else {
            throw ValidationError("--temperature must be a finite number >= 0, got \(temperature)")
        }
        guard minP.isFinite, minP >= 0, minP <= 1 else {
            throw ValidationError("--min-p must be a number from 0 to 1, got \(minP)")
        }
    }

    /// The sampler of stream `index` (0-based) of a batch: seeded `seed + index`.
    func makeSampler(stream index: Int = 0) -> CategoricalSampler {
        CategoricalSampler(temperature: temperature, minP: minP, seed: seed &+ UInt64(index))
    }

    /// "temperature 0.85, min-p 0.05, seed 1" for log lines.
    var summary: String {
        "temperature \(temperature)" + (minP > 0 ? ", min-p \(minP)" : "") + ", seed \(seed)"
    }
}

/// `--seconds S | --samples N`: the length of generated audio.
struct LengthOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("Seconds of audio to generate.", valueName: "S"))
    var seconds: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Samples (at 16 kHz) of audio to generate.", valueName: "N"))
    var samples: Int?

    func validate() throws {
        if seconds != nil && samples != nil {
            throw ValidationError("give --seconds or --samples, not both")
        }
        if let seconds {
            guard seconds.isFinite, seconds > 0 else {
                throw ValidationError("--seconds must be a positive number, got \(seconds)")
            }
            guard seconds * Double(modelSampleRate) >= 1 else {
                throw ValidationError("--seconds \(seconds) is shorter than one sample at \(modelSampleRate) Hz")
            }
            guard seconds * Double(modelSampleRate) < Double(Int.max / 4) else {
                throw ValidationError("--seconds \(seconds) is too long")
            }
        }
        if let samples, samples <= 0 {
            throw ValidationError("--samples must be positive, got \(samples)")
        }
    }

    /// The requested number of samples, or nil if neither option was given.
    var sampleCount: Int? {
        if let samples { return samples }
        if let seconds { return Int((seconds * Double(modelSampleRate)).rounded()) }
        return nil
    }
}

/// Throws a usage error unless `path` names an existing regular file (or a
/// device/pipe such as /dev/stdin): missing inputs are caught before any work.
func requireFile(_ path: String, what: String) throws {
    var isDirectory: ObjCBool = false
    guard !path.isEmpty, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw ValidationError("\(what) '\(path)' does not exist")
    }
    guard !isDirectory.boolValue else { throw ValidationError("\(what) '\(path)' is a directory") }
}
