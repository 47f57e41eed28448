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

    func validate() throws {
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
        let model = try Model(stateDict: dict)
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
}
