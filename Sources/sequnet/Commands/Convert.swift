import ArgumentParser
import Foundation
import SequnetCheckpoint
import SequnetEngine

/// `sequnet convert`: any checkpoint to safetensors with sequnet metadata.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a checkpoint to safetensors (float32, with architecture metadata).",
        discussion: """
            The input is loaded strictly (every tensor used, every shape checked) before anything \
            is written; the output records the architecture and, for WaveNet, the layers per \
            block, so later loads need no --wavenet-layers.
            """)

    @Argument(help: ArgumentHelp("Checkpoint to read (torch zip, torch legacy or safetensors).", valueName: "IN"),
              completion: .file())
    var input: String

    @Argument(help: ArgumentHelp("safetensors file to write.", valueName: "OUT.safetensors"))
    var output: String

    @OptionGroup var layout: WaveNetLayoutOptions

    func validate() throws {
        try requireFile(input, what: "checkpoint")
        if output.isEmpty || output == "-" { throw ValidationError("OUT must be a file name") }
        let resolve = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        if resolve(input) == resolve(output) { throw ValidationError("OUT would overwrite IN '\(input)'") }
    }

    func run() throws {
        let loaded = try LoadedModel(path: input, hyperparameters: layout.hyperparameters)
        let dict = loaded.model.exportStateDict()
        try writeSafetensors(dict, toPath: output)
        let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? nil
        Console.error("wrote \(output): \(loaded.summary), \(dict.names.count) tensors, "
                      + "\(grouped(loaded.model.parameterCount)) parameters, \(humanBytes(Double(size ?? 0))) "
                      + "(from \(input), \(loaded.format))")
    }
}
