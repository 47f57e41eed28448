import Foundation
import SequnetCheckpoint

/// Parses architecture specs such as `sequnet:features=180,levels=11,depth=2,kernel=5`
/// or `wavenet:layers=13,blocks=4,residual=128,dilation=128,skip=512`, so a
/// model of any size can be built (with random weights) and measured
/// without a checkpoint. Each family reads its own keys (`parse(_:)`).
public enum ArchitectureSpec {
    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The paper's audio Seq-U-Net (26.9 M parameters).
    public static let paperSeqUNet = "sequnet:features=180,levels=11,depth=2,kernel=5"
    /// The paper's WaveNet baseline.
    public static let paperWaveNet = "wavenet:layers=13,blocks=4,residual=128,dilation=128,skip=512"

    /// The `key=value` pairs of one spec, handed out to the family that reads them.
    public struct Values {
        let spec: String
        var values: [String: Int]

        /// The value of `key` (or `fallback`), which must lie in `range`.
        public mutating func take(_ key: String, default fallback: Int? = nil, range: ClosedRange<Int>) throws -> Int {
            guard let v = values.removeValue(forKey: key) ?? fallback else { throw error("lacks '\(key)='") }
            guard range.contains(v) else {
                throw error("\(key)=\(v) is outside \(range.lowerBound)...\(range.upperBound)")
            }
            return v
        }

        /// An error about this spec.
        public func error(_ problem: String) -> ParseError {
            ParseError(description: "architecture spec '\(spec)': \(problem)")
        }
    }

    public static func parse(_ spec: String) throws -> any ModelConfiguration {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            throw ParseError(description: "architecture spec '\(spec)' must look like '\(paperSeqUNet)' or '\(paperWaveNet)'")
        }
        var values = Values(spec: spec, values: [:])
        for item in parts[1].split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let v = Int(kv[1]), v > 0 else { throw values.error("'\(item)' is not key=positive-integer") }
            values.values[kv[0]] = v
        }
        guard let family = ModelRegistry.family(named: parts[0]) else {
            throw ParseError(description: "unknown architecture '\(parts[0])' in spec '\(spec)' (expected \(ModelRegistry.architectureList))")
        }
        let config = try family.parse(&values)
        if let extra = values.values.keys.sorted().first { throw values.error("unknown key '\(extra)'") }
        return config
    }
}

extension Model {
    /// A model of the given shape with random weights drawn the way PyTorch
    /// initialises convolutions (uniform in ±1/sqrt(fan-in)), for benchmarks.
    public convenience init(randomWeightsFor config: any ModelConfiguration, seed: UInt64 = 1,
                            precision: MatrixPrecision = .fp32) throws {
        try config.validate()
        // Refuse sizes this process could not hold before drawing anything.
        let floats = config.parameterCount
        guard floats <= 1 << 30 else {
            throw ModelLoadError.invalidHyperParameter(
                "\(type(of: config).architecture) of about \(floats / 1_000_000) M parameters is over the 1,073 M this tool builds")
        }
        var rng = SeededGenerator(seed: seed)
        var dict = StateDict(format: .safetensors)
        for spec in config.tensors {
            let bound = 1 / Float(spec.fanIn).squareRoot()
            var values = [Float](repeating: 0, count: spec.elementCount)
            for i in values.indices { values[i] = (rng.nextUnitFloat() * 2 - 1) * bound }
            // A tied tensor is the other one under a second name.
            if let tied = spec.tiedTo, let other = dict.tensors[tied] { values = other.values }
            dict.set(spec.name, Tensor(shape: spec.shape, values: values))
        }
        try self.init(config: config, stateDict: dict, precision: precision)
    }
}
