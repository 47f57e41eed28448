import SequnetCheckpoint

/// Hyper-parameters of the TCN baseline of the paper's symbolic tasks
/// (locuslab's `TemporalConvNet`, Bai et al. 2018): residual blocks of two
/// weight-normalised dilated causal convs with ReLUs, dilation 2^i in block
/// i, then a linear layer to the outputs (music: `linear`, 88 logits).
///
/// Paper music models: JSB Chorales `features: 220, levels: 2, kernelSize: 3`;
/// Nottingham `features: 215, levels: 4, kernelSize: 5`.
public struct TCNConfig: ModelConfiguration, Equatable {
    /// Width of each step's input vector (88 keys for music).
    public var inputs: Int
    /// Width of each step's output.
    public var outputs: Int
    /// Channels of every block.
    public var features: Int
    /// Number of residual blocks.
    public var levels: Int
    /// Kernel size K of every conv.
    public var kernelSize: Int

    public init(inputs: Int = 88, outputs: Int = 88, features: Int, levels: Int, kernelSize: Int) {
        (self.inputs, self.outputs, self.features, self.levels, self.kernelSize) = (inputs, outputs, features, levels, kernelSize)
    }

    enum CodingKeys: String, CodingKey {
        case inputs, outputs, features, levels
        case kernelSize = "kernel_size"
    }

    public static let architecture = "tcn"
    public static let familyName = "TCN"

    public var description: String { "TCN C=\(features) L=\(levels) K=\(kernelSize), \(inputs) in, \(outputs) out" }

    public var hyperparameters: [(name: String, value: Int)] {
        [("inputs", inputs), ("outputs", outputs), ("features", features), ("levels", levels), ("kernel_size", kernelSize)]
    }

    public var input: NetworkInput { .multiHot(keys: inputs) }
    public var output: NetworkOutput { .independentSigmoids(keys: outputs) }
    /// One rate: a TCN has no clock.
    public var timeScales: Int { 1 }

    /// Input width of block i.
    func blockInputs(_ i: Int) -> Int { i == 0 ? inputs : features }
    /// Dilation of block i.
    func dilation(_ i: Int) -> Int { 1 << i }

    /// 1 + 2(K-1)(2^L - 1): two convs per block, block i reaching back (K-1)2^i steps each.
    public var receptiveField: Int { 1 + 2 * (kernelSize - 1) * ((1 << levels) - 1) }
    /// No priming window: a sequence is fed whole from zero state.
    public var inputSize: Int { receptiveField }

    func stateArenaFloats(batch: Int) -> Int {
        var floats = 0
        for i in 0..<levels {
            floats += DilatedWindowRing.floats(dimension: blockInputs(i), taps: kernelSize, dilation: dilation(i), streams: batch)
            floats += DilatedWindowRing.floats(dimension: features, taps: kernelSize, dilation: dilation(i), streams: batch)
        }
        let widest = max(inputs, features)
        return floats + batch * (3 * widest + outputs) + 64
    }

    public func streamStateBytes(batch: Int) -> Int { stateArenaFloats(batch: batch) * MemoryLayout<Float>.size }

    public func validate() throws {
        guard (1...16).contains(kernelSize) else { throw ModelLoadError.invalidHyperParameter("kernel size \(kernelSize)") }
        guard (1...16).contains(levels) else { throw ModelLoadError.invalidHyperParameter("\(levels) levels (need 1...16)") }
        for (name, value) in [("features", features), ("inputs", inputs), ("outputs", outputs)] {
            guard (1...8192).contains(value) else { throw ModelLoadError.invalidHyperParameter("\(value) \(name)") }
        }
    }

    public func makeWeights(_ reader: inout TensorReader) throws -> any NetworkWeights {
        try TCNWeights(config: self, reader: &reader)
    }
}

// MARK: The reference's tensors (SPEC-symbolic.md)

extension TCNConfig {
    func conv1(_ i: Int) -> ConvSpec {
        ConvSpec("conv.network.\(i).conv1", .weightNormed, outputs: features, inputs: blockInputs(i), kernel: kernelSize)
    }
    func conv2(_ i: Int) -> ConvSpec {
        ConvSpec("conv.network.\(i).conv2", .weightNormed, outputs: features, inputs: features, kernel: kernelSize)
    }
    /// Block i's 1x1 conv on the residual path, where its input width differs.
    func downsample(_ i: Int) -> ConvSpec? {
        blockInputs(i) == features ? nil
            : ConvSpec("conv.network.\(i).downsample", .plain, outputs: features, inputs: blockInputs(i), kernel: 1)
    }
    /// `linear.weight` `[outputs, features]` (a Linear, not a conv: no kernel axis).
    var linearWeight: TensorSpec {
        TensorSpec(name: "linear.weight", shape: [outputs, features], fanIn: features, outputAxis: 0, isOutputLayer: true)
    }
    var linearBias: TensorSpec { TensorSpec(name: "linear.bias", shape: [outputs], fanIn: features) }

    /// What torch's weight_norm + Sequential also list: block i's `net.0`
    /// (conv1) and `net.4` (conv2), the same tensors under a second name.
    func duplicates(_ i: Int) -> [(name: String, shape: [Int])] {
        [("net.0", conv1(i)), ("net.4", conv2(i))].flatMap { alias, spec in
            spec.tensors.map { tensor in
                (tensor.name.replacingOccurrences(of: spec.prefix, with: "conv.network.\(i).\(alias)"), tensor.shape)
            }
        }
    }

    /// The tensors the engine reads, in state-dict order (the duplicates are accepted and skipped).
    public var tensors: [TensorSpec] {
        var list: [TensorSpec] = []
        for i in 0..<levels {
            list += conv1(i).tensors + conv2(i).tensors
            if let d = downsample(i) { list += d.tensors }
        }
        return list + [linearWeight, linearBias]
    }

    public static let markerTensor = "conv.network.0.conv1.weight_v"

    public static func infer(from dict: StateDict, declared: [String: Int]) throws -> TCNConfig {
        let first = try TensorReader.shape(of: markerTensor, in: dict, dimensions: ["features", "inputs", "kernel size"])
        let linear = try TensorReader.shape(of: "linear.weight", in: dict, dimensions: ["outputs", "features"])
        let blocks = Set(dict.names.compactMap { name -> Int? in
            guard name.hasPrefix("conv.network.") else { return nil }
            return Int(name.split(separator: ".")[2])
        })
        let config = TCNConfig(inputs: first[1], outputs: linear[0], features: first[0], levels: blocks.count,
                               kernelSize: first[2])
        try config.validate()
        return config
    }

    /// `tcn:features=220,levels=2,kernel=3` (88 keys in and out unless `inputs=`/`outputs=`).
    public static func parse(_ spec: inout ArchitectureSpec.Values) throws -> TCNConfig {
        TCNConfig(inputs: try spec.take("inputs", default: 88, range: 1...4096),
                  outputs: try spec.take("outputs", default: 88, range: 1...65_536),
                  features: try spec.take("features", range: 1...4096),
                  levels: try spec.take("levels", range: 1...16),
                  kernelSize: try spec.take("kernel", default: 3, range: 1...16))
    }
}
