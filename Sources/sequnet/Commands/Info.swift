import ArgumentParser
import Foundation
import SequnetEngine

/// `sequnet info`: what a checkpoint is and what running it costs.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a model: architecture, hyper-parameters, size, receptive field, cost per sample.")

    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let loaded = try modelOptions.load()
        let model = loaded.model
        let config = model.config
        let rate = Double(model.sampleRate)
        let stateBytes = model.makeStream().stateBytes

        var hyper: [(String, Int)] = [("classes", config.classes)]
        let architecture: String
        switch config {
        case .seqUNet(let c):
            architecture = "Seq-U-Net"
            hyper += [("features", c.features), ("levels", c.levels), ("depth", c.depth), ("kernel_size", c.kernelSize)]
        case .waveNet(let c):
            architecture = "WaveNet"
            hyper += [("layers_per_block", c.layersPerBlock), ("blocks", c.blocks),
                      ("residual_channels", c.residualChannels), ("dilation_channels", c.dilationChannels),
                      ("skip_channels", c.skipChannels), ("kernel_size", c.kernelSize)]
        }
        let receptiveMs = Double(config.receptiveField) / rate * 1000

        if json {
            var object: [String: Any] = [
                "path": loaded.path,
                "format": loaded.format.rawValue,
                "architecture": config.architectureName,
                "hyperparameters": Dictionary(uniqueKeysWithValues: hyper),
                "parameters": model.parameterCount,
                "input_size": config.inputSize,
                "receptive_field_samples": config.receptiveField,
                "receptive_field_ms": receptiveMs,
                "time_scales": config.timeScales,
                "cycle_samples": config.cycles,
                "multiply_adds_per_sample": model.multiplyAddsPerSample,
                "weight_bytes_per_sample": model.weightBytesPerSample,
                "weight_bytes": model.weightBytes,
                "state_bytes": stateBytes,
                "sample_rate": model.sampleRate,
            ]
            object["load_seconds"] = loaded.loadSeconds
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let rows: [(String, String)] = [
            ("model", "\(loaded.path) (\(loaded.format))"),
            ("architecture", "\(architecture) (\(config.architectureName))"),
            ("hyper-parameters", hyper.map { "\($0.0.replacingOccurrences(of: "_", with: " ")) \($0.1)" }.joined(separator: ", ")),
            ("parameters", "\(grouped(model.parameterCount)) (\(humanBytes(Double(model.weightBytes))) of float32 weights)"),
            ("input size", "\(grouped(config.inputSize)) samples (the reference's priming window)"),
            ("receptive field", String(format: "%@ samples (%.2f ms at %d Hz)", grouped(config.receptiveField), receptiveMs, model.sampleRate)),
            ("time scales", config.cycles > 1 ? "\(config.timeScales) (a clock cycle of \(config.cycles) samples)" : "\(config.timeScales)"),
            ("multiply-adds", String(format: "%@ per sample (%.3f G/s at real time)",
                                     grouped(Int(model.multiplyAddsPerSample.rounded())), model.multiplyAddsPerSample * rate / 1e9)),
            ("weight bytes", String(format: "%@ per sample (%@/s at real time)",
                                    grouped(Int(model.weightBytesPerSample.rounded())), humanBytes(model.weightBytesPerSample * rate))),
            ("stream state", humanBytes(Double(stateBytes))),
            ("audio", "\(model.sampleRate) Hz mono, \(config.classes)-class mu-law"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows {
            print(key + ":" + String(repeating: " ", count: width - key.count + 1) + value)
        }
    }
}
