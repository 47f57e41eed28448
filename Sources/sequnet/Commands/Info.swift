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
        let loaded = try modelOptions.load(forStreaming: false)
        // Computed from the configuration: `info` builds no stream, so it
        // neither allocates a model's state nor primes it.
        let report = InfoReport(loaded, stateBytes: loaded.model.config.streamStateBytes(batch: 1))
        if json {
            try printJSON(report)
            return
        }
        let model = loaded.model, config = model.config, codec = model.codec
        let rate = report.sampleRate ?? 1
        let unit = codec.stepsPerSecond == nil ? "steps" : "samples"
        let rows: [(String, String)?] = [
            ("model", "\(loaded.path) (\(loaded.format))"),
            ("architecture", "\(type(of: config).familyName) (\(report.architecture))"),
            model.moduleClasses[""].map { top in
                let inner = model.moduleClasses["conv"].map { " with conv \($0)" } ?? ""
                return ("pickled module", "\(top)\(inner) (a whole module, as the official train.py saves it; read as inert records)")
            },
            ("hyper-parameters", config.hyperparameters.map { "\($0.name.replacingOccurrences(of: "_", with: " ")) \($0.value)" }
                .joined(separator: ", ")),
            ("parameters", "\(grouped(model.parameterCount)) (\(humanBytes(Double(model.weightBytes))) of \(model.precision.elementType) weights)"),
            ("kernels", "\(report.kernelPath) (CPU: \(CPUFeatures.current.extensions.joined(separator: " ")))"),
            codec.stepsPerSecond == nil ? nil : ("input size", "\(grouped(config.inputSize)) \(unit) (the reference's priming window)"),
            ("receptive field", report.receptiveFieldMs.map {
                String(format: "%@ samples (%.2f ms at %d Hz)", grouped(config.receptiveField), $0, rate)
            } ?? "\(grouped(config.receptiveField)) \(codec.stepName)s"),
            ("time scales", config.cycles > 1 ? "\(config.timeScales) (a clock cycle of \(config.cycles) \(unit))" : "\(config.timeScales)"),
            ("multiply-adds", "\(grouped(Int(model.multiplyAddsPerSample.rounded()))) per \(codec.stepName)"
                + (codec.stepsPerSecond == nil ? "" : String(format: " (%.3f G/s at real time)", model.multiplyAddsPerSample * Double(rate) / 1e9))),
            ("weight bytes", "\(grouped(Int(model.weightBytesPerSample.rounded()))) per \(codec.stepName)"
                + (codec.stepsPerSecond == nil ? "" : " (\(humanBytes(model.weightBytesPerSample * Double(rate)))/s at real time)")),
            ("stream state", humanBytes(Double(report.stateBytes))),
            (codec.stepsPerSecond != nil ? "audio" : "data", codec.description),
            (codec as? TokenCodec)?.vocabulary.map { vocabulary in
                let shown = vocabulary.symbols.prefix(24).map { $0 == " " ? "␠" : $0 }.joined(separator: " ")
                return ("vocabulary", shown + (vocabulary.count > 24 ? " ... (\(grouped(vocabulary.count)) in all)" : ""))
            },
        ]
        let shown = rows.compactMap { $0 }
        let width = shown.map(\.0.count).max() ?? 0
        for (key, value) in shown {
            print(key + ":" + String(repeating: " ", count: width - key.count + 1) + value)
        }
    }
}

/// `info --json` output.
struct InfoReport: Encodable {
    var path, format, architecture: String
    var hyperparameters: [String: Int]
    var parameters, inputSize, receptiveFieldSamples, timeScales, cycleSamples, weightBytes, stateBytes: Int
    var multiplyAddsPerSample, weightBytesPerSample, loadSeconds: Double
    /// The weight precision the model was loaded in, and the kernel build that runs it.
    var precision, kernelPath: String
    /// Only where the codec's steps are a fixed span of time (audio).
    var receptiveFieldMs: Double?
    var sampleRate: Int?
    /// Language models: the recorded vocabulary's size and level, if any.
    var vocabularySize: Int?
    var tokenLevel: String?

    init(_ loaded: LoadedModel, stateBytes: Int) {
        let model = loaded.model, config = model.config
        path = loaded.path
        format = loaded.format.rawValue
        architecture = type(of: config).architecture
        hyperparameters = Dictionary(config.hyperparameters.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        parameters = model.parameterCount
        inputSize = config.inputSize
        receptiveFieldSamples = config.receptiveField
        sampleRate = model.codec.stepsPerSecond
        receptiveFieldMs = sampleRate.map { Double(config.receptiveField) / Double($0) * 1000 }
        timeScales = config.timeScales
        cycleSamples = config.cycles
        multiplyAddsPerSample = model.multiplyAddsPerSample
        weightBytesPerSample = model.weightBytesPerSample
        weightBytes = model.weightBytes
        self.stateBytes = stateBytes
        loadSeconds = loaded.loadSeconds
        precision = model.precision.rawValue
        kernelPath = KernelPath.active.rawValue
        let tokens = model.codec as? TokenCodec
        vocabularySize = tokens?.vocabulary?.count
        tokenLevel = tokens?.level?.rawValue
    }

    enum CodingKeys: String, CodingKey {
        case path, format, architecture, hyperparameters, parameters
        case inputSize = "input_size", receptiveFieldSamples = "receptive_field_samples"
        case receptiveFieldMs = "receptive_field_ms", timeScales = "time_scales", cycleSamples = "cycle_samples"
        case multiplyAddsPerSample = "multiply_adds_per_sample", weightBytesPerSample = "weight_bytes_per_sample"
        case weightBytes = "weight_bytes", stateBytes = "state_bytes", sampleRate = "sample_rate"
        case loadSeconds = "load_seconds", precision, kernelPath = "kernel_path"
        case vocabularySize = "vocabulary_size", tokenLevel = "token_level"
    }
}
