import Foundation
import SequnetCheckpoint

/// Parses architecture specs such as `sequnet:features=180,levels=11,depth=2,kernel=5`
/// or `wavenet:layers=13,blocks=4,residual=128,dilation=128,skip=512`, so a
/// model of any size can be built (with random weights) and measured
/// without a checkpoint.
public enum ArchitectureSpec {
    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The paper's audio Seq-U-Net (26.9 M parameters).
    public static let paperSeqUNet = "sequnet:features=180,levels=11,depth=2,kernel=5"
    /// The paper's WaveNet baseline.
    public static let paperWaveNet = "wavenet:layers=13,blocks=4,residual=128,dilation=128,skip=512"

    public static func parse(_ spec: String) throws -> ModelConfig {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            throw ParseError(description: "architecture spec '\(spec)' must look like 'sequnet:features=64,levels=10,depth=1,kernel=5' or 'wavenet:layers=10,blocks=2,residual=64,dilation=64,skip=256'")
        }
        var values: [String: Int] = [:]
        for item in parts[1].split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let v = Int(kv[1]), v > 0 else {
                throw ParseError(description: "architecture spec '\(spec)': '\(item)' is not key=positive-integer")
            }
            values[kv[0]] = v
        }
        func take(_ key: String, default fallback: Int? = nil, range: ClosedRange<Int>) throws -> Int {
            guard let v = values.removeValue(forKey: key) ?? fallback else {
                throw ParseError(description: "architecture spec '\(spec)' lacks '\(key)='")
            }
            guard range.contains(v) else {
                throw ParseError(description: "architecture spec '\(spec)': \(key)=\(v) is outside \(range.lowerBound)...\(range.upperBound)")
            }
            return v
        }
        let config: ModelConfig
        switch parts[0].lowercased() {
        case "sequnet":
            let kernel = try take("kernel", default: 5, range: 1...63)
            guard kernel % 2 == 1 else { throw ParseError(description: "architecture spec '\(spec)': kernel must be odd") }
            config = .seqUNet(SeqUNetConfig(
                classes: try take("classes", default: 256, range: 256...256),
                features: try take("features", range: 1...4096),
                levels: try take("levels", range: 2...20),
                depth: try take("depth", default: 1, range: 1...16),
                kernelSize: kernel))
        case "wavenet":
            config = .waveNet(WaveNetConfig(
                classes: try take("classes", default: 256, range: 256...256),
                layersPerBlock: try take("layers", range: 1...20),
                blocks: try take("blocks", range: 1...64),
                residualChannels: try take("residual", range: 1...4096),
                dilationChannels: try take("dilation", range: 1...4096),
                skipChannels: try take("skip", range: 1...8192)))
        default:
            throw ParseError(description: "unknown architecture '\(parts[0])' in spec '\(spec)' (expected sequnet or wavenet)")
        }
        if let extra = values.keys.sorted().first {
            throw ParseError(description: "architecture spec '\(spec)': unknown key '\(extra)'")
        }
        return config
    }
}

extension Model {
    /// A model of the given shape with random weights drawn the way PyTorch
    /// initialises convolutions (uniform in ±1/sqrt(fan-in)), for benchmarks.
    public convenience init(randomWeightsFor config: ModelConfig, seed: UInt64 = 1) throws {
        // Refuse sizes this process could not hold before drawing anything.
        let floats = Model.parameterEstimate(config)
        guard floats <= 1 << 30 else {
            throw ModelLoadError.invalidHyperParameter(
                "\(config.architectureName) of about \(floats / 1_000_000) M parameters is over the 1,073 M this tool builds")
        }
        var rng = SeededGenerator(seed: seed)
        var dict = StateDict(format: .safetensors)
        func add(_ name: String, _ shape: [Int], fanIn: Int) {
            let bound = 1 / Float(fanIn).squareRoot()
            let n = shape.reduce(1, *)
            var values = [Float](repeating: 0, count: n)
            for i in 0..<n { values[i] = (rng.nextUnitFloat() * 2 - 1) * bound }
            dict.set(name, Tensor(shape: shape, values: values))
        }
        func conv(_ prefix: String, out: Int, inputs: Int, k: Int) {
            add("\(prefix).weight", [out, inputs, k], fanIn: inputs * k)
            add("\(prefix).bias", [out], fanIn: inputs * k)
        }
        switch config {
        case .seqUNet(let c):
            let f = c.features, k = c.kernelSize
            conv("input_conv", out: f, inputs: c.classes, k: k)
            func gated(_ prefix: String, inputs: Int) {
                conv("\(prefix).filter", out: f, inputs: inputs, k: k)
                conv("\(prefix).gate", out: f, inputs: inputs, k: k)
            }
            for i in 0..<(c.levels - 1) {
                for j in 0..<c.depth { gated("downsampling_blocks.\(i).convs.\(j)", inputs: f) }
                gated("downsampling_blocks.\(i).downconv", inputs: f)
                gated("upsampling_blocks.\(i).upconv", inputs: f)   // [in, out, K]: same shape when in == out
                for j in 0..<c.depth { gated("upsampling_blocks.\(i).convs.\(j)", inputs: 2 * f) }
            }
            for j in 0..<c.depth { gated("bottlenecks.\(j)", inputs: f) }
            conv("output_conv.1", out: c.classes, inputs: f, k: 1)
            self.init(try SeqUNetWeights(config: c, stateDict: dict))
        case .waveNet(let c):
            let r = c.residualChannels, dc = c.dilationChannels, s = c.skipChannels
            conv("start_conv", out: r, inputs: c.classes, k: 1)
            for l in 0..<c.layerCount {
                conv("filter_convs.\(l)", out: dc, inputs: r, k: 2)
                conv("gate_convs.\(l)", out: dc, inputs: r, k: 2)
                conv("residual_convs.\(l)", out: r, inputs: dc, k: 1)
                conv("skip_convs.\(l)", out: s, inputs: dc, k: 1)
            }
            conv("end_conv_1", out: s, inputs: s, k: 1)
            conv("end_conv_2", out: c.classes, inputs: s, k: 1)
            self.init(try WaveNetWeights(config: c, stateDict: dict))
        }
    }
}

extension Model {
    /// Parameter count of a configuration, without building it.
    static func parameterEstimate(_ config: ModelConfig) -> Int {
        switch config {
        case .seqUNet(let c):
            let f = c.features, k = c.kernelSize
            let layer = 2 * (f * f * k + f)
            return (f * c.classes * k + f) + (c.levels - 1) * (c.depth + 1) * layer + c.depth * layer
                + (c.levels - 1) * layer + (c.levels - 1) * c.depth * 2 * (2 * f * f * k + f) + c.classes * (f + 1)
        case .waveNet(let c):
            let r = c.residualChannels, dc = c.dilationChannels, s = c.skipChannels
            return r * (c.classes + 1) + c.layerCount * (2 * (dc * r * 2 + dc) + (r + s) * (dc + 1))
                + s * (s + 1) + c.classes * (s + 1)
        }
    }
}
