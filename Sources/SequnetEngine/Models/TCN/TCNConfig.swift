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
    /// Channels of every block but the last.
    public var features: Int
    /// Channels of the last block (the language models end at the embedding size).
    public var lastFeatures: Int
    /// Number of residual blocks.
    public var levels: Int
    /// Kernel size K of every conv.
    public var kernelSize: Int
    /// Tokens of a language model's vocabulary (0: none). A language model
    /// embeds a token into `inputs` floats and decodes the last block's
    /// output into one logit per token; a music model has a `linear` layer
    /// from the last block to `outputs` instead.
    public var vocabulary: Int

    public init(inputs: Int = 88, outputs: Int = 88, features: Int, lastFeatures: Int? = nil, levels: Int, kernelSize: Int,
                vocabulary: Int = 0) {
        (self.inputs, self.outputs, self.features, self.levels, self.kernelSize) = (inputs, outputs, features, levels, kernelSize)
        self.lastFeatures = lastFeatures ?? features
        self.vocabulary = vocabulary
    }

    /// A language model as the paper's char_cnn / word_cnn builds it:
    /// `TemporalConvNet(E, [nhid]*(L-1) + [E], k)` between an embedding of
    /// `vocabulary` tokens and the tied decoder.
    public static func languageModel(vocabulary: Int, embedding: Int, features: Int, levels: Int, kernelSize: Int) -> Self {
        Self(inputs: embedding, outputs: vocabulary, features: features, lastFeatures: embedding, levels: levels,
             kernelSize: kernelSize, vocabulary: vocabulary)
    }

    enum CodingKeys: String, CodingKey {
        case inputs, outputs, features, levels, vocabulary
        case lastFeatures = "last_features"
        case kernelSize = "kernel_size"
    }

    public static let architecture = "tcn"
    public static let familyName = "TCN"

    public var description: String {
        let last = lastFeatures == features ? "" : "/\(lastFeatures)"
        if vocabulary > 0 {
            return "TCN language model C=\(features)\(last) L=\(levels) K=\(kernelSize), \(vocabulary) tokens embedded in \(inputs)"
        }
        return "TCN C=\(features)\(last) L=\(levels) K=\(kernelSize), \(inputs) in, \(outputs) out"
    }

    public var hyperparameters: [(name: String, value: Int)] {
        [("inputs", inputs), ("outputs", outputs), ("features", features), ("last_features", lastFeatures), ("levels", levels),
         ("kernel_size", kernelSize), ("vocabulary", vocabulary)]
    }

    public var input: NetworkInput { vocabulary > 0 ? .embedding(vocabulary: vocabulary) : .multiHot(keys: inputs) }
    public var output: NetworkOutput { vocabulary > 0 ? .categorical(classes: vocabulary) : .independentSigmoids(keys: outputs) }
    /// One rate: a TCN has no clock.
    public var timeScales: Int { 1 }

    /// Input width of block i.
    func blockInputs(_ i: Int) -> Int { i == 0 ? inputs : channels(i - 1) }
    /// Channels of block i.
    func channels(_ i: Int) -> Int { i == levels - 1 ? lastFeatures : features }
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
            floats += DilatedWindowRing.floats(dimension: channels(i), taps: kernelSize, dilation: dilation(i), streams: batch)
        }
        let widest = max(inputs, features, lastFeatures)
        // a language model's embedded inputs too
        return floats + batch * (3 * widest + outputs + (vocabulary > 0 ? inputs : 0))
    }

    public func streamStateBytes(batch: Int) -> Int { stateArenaFloats(batch: batch) * MemoryLayout<Float>.size }

    public func validate() throws {
        guard (1...16).contains(kernelSize) else { throw ModelLoadError.invalidHyperParameter("kernel size \(kernelSize)") }
        guard (1...16).contains(levels) else { throw ModelLoadError.invalidHyperParameter("\(levels) levels (need 1...16)") }
        for (name, value) in [("features", features), ("last features", lastFeatures), ("inputs", inputs)] {
            guard (1...8192).contains(value) else { throw ModelLoadError.invalidHyperParameter("\(value) \(name)") }
        }
        guard (1...1_000_000).contains(outputs) else { throw ModelLoadError.invalidHyperParameter("\(outputs) outputs") }
        guard vocabulary == 0 || (vocabulary >= 2 && vocabulary == outputs) else {
            throw ModelLoadError.invalidHyperParameter("a vocabulary of \(vocabulary) tokens")
        }
    }

    public func makeWeights(_ reader: inout TensorReader) throws -> any NetworkWeights {
        try TCNWeights(config: self, reader: &reader)
    }
}

// MARK: The reference's tensors (SPEC-symbolic.md)

extension TCNConfig {
    func conv1(_ i: Int) -> ConvSpec {
        ConvSpec("conv.network.\(i).conv1", .weightNormed, outputs: channels(i), inputs: blockInputs(i), kernel: kernelSize)
    }
    func conv2(_ i: Int) -> ConvSpec {
        ConvSpec("conv.network.\(i).conv2", .weightNormed, outputs: channels(i), inputs: channels(i), kernel: kernelSize)
    }
    /// Block i's 1x1 conv on the residual path, where its input width differs.
    func downsample(_ i: Int) -> ConvSpec? {
        blockInputs(i) == channels(i) ? nil
            : ConvSpec("conv.network.\(i).downsample", .plain, outputs: channels(i), inputs: blockInputs(i), kernel: 1)
    }
    /// A music model's `linear.weight` `[outputs, last features]` (a Linear, not a conv: no kernel axis).
    var linearWeight: TensorSpec {
        TensorSpec(name: "linear.weight", shape: [outputs, lastFeatures], fanIn: lastFeatures, outputAxis: 0, isOutputLayer: true)
    }
    var linearBias: TensorSpec { TensorSpec(name: "linear.bias", shape: [outputs], fanIn: lastFeatures) }

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
        guard vocabulary > 0 else { return list + [linearWeight, linearBias] }
        let tokens = TokenLayers.tensors(vocabulary: vocabulary, embedding: inputs, coreOutputs: lastFeatures)
        return [tokens[0]] + list + tokens[1...]
    }

    public static let markerTensor = "conv.network.0.conv1.weight_v"

    public static func infer(from dict: StateDict, declared: [String: Int]) throws -> TCNConfig {
        let first = try TensorReader.shape(of: markerTensor, in: dict, dimensions: ["features", "inputs", "kernel size"])
        let blocks = Set(dict.names.compactMap { name -> Int? in
            guard name.hasPrefix("conv.network.") else { return nil }
            return Int(name.split(separator: ".")[2])
        })
        let last = try TensorReader.shape(of: "conv.network.\(max(blocks.count - 1, 0)).conv2.weight_v", in: dict,
                                          dimensions: ["last features", "last features", "kernel size"])
        let vocabulary = dict.tensors["encoder.weight"]?.shape.first ?? 0
        let outputs = vocabulary > 0 ? vocabulary
            : try TensorReader.shape(of: "linear.weight", in: dict, dimensions: ["outputs", "features"])[0]
        let config = TCNConfig(inputs: first[1], outputs: outputs, features: first[0], lastFeatures: last[0],
                               levels: blocks.count, kernelSize: first[2], vocabulary: vocabulary)
        try config.validate()
        return config
    }

    /// `tcn:features=220,levels=2,kernel=3` (88 keys in and out unless `inputs=`/`outputs=`).
    public static func parse(_ spec: inout ArchitectureSpec.Values) throws -> TCNConfig {
        let vocabulary = try spec.take("vocabulary", default: 0, range: 0...1_000_000)
        if vocabulary > 0 {
            return .languageModel(vocabulary: vocabulary, embedding: try spec.take("embedding", range: 1...4096),
                                  features: try spec.take("features", range: 1...4096), levels: try spec.take("levels", range: 1...16),
                                  kernelSize: try spec.take("kernel", default: 3, range: 1...16))
        }
        return TCNConfig(inputs: try spec.take("inputs", default: 88, range: 1...4096),
                  outputs: try spec.take("outputs", default: 88, range: 1...65_536),
                  features: try spec.take("features", range: 1...4096),
                  levels: try spec.take("levels", range: 1...16),
                  kernelSize: try spec.take("kernel", default: 3, range: 1...16))
    }
}
