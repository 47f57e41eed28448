import SequnetCheckpoint

/// Hyper-parameters of the paper's plain Seq-U-Net (`sequnet.Sequnet` of the
/// official code): LeakyReLU convolutions, no residuals, no gates, the skip
/// concatenated into each up block. The paper runs it on polyphonic music
/// (88-key piano rolls in, 88 sigmoid logits out) and, in valid mode, on
/// Penn Treebank text.
///
/// Paper music models: JSB Chorales `features: 175, levels: 2, kernelSize: 3`;
/// Nottingham `features: 150, levels: 4, kernelSize: 5`.
public struct PlainSeqUNetConfig: ModelConfiguration, Equatable {
    /// Width of each step's input vector (88 keys for music).
    public var inputs: Int
    /// Width of each step's output (88 logits for music).
    public var outputs: Int
    /// Channels C_i of levels 0 ... L-2.
    public var features: Int
    /// Channels of the deepest level L-1 (the language models shrink it to
    /// the embedding size; the music models keep `features`).
    public var bottleneckFeatures: Int
    /// Number of time scales L; level i runs at 1/2^i of the step rate.
    public var levels: Int
    /// Odd kernel size K of every convolution.
    public var kernelSize: Int
    /// Padded convolutions (music: a ConstantPad1d before each Conv1d, so the
    /// conv sits at index 1 of its `block`) or valid ones (language models, index 0).
    public var padded: Bool
    /// Tokens of a language model's vocabulary (0: none, the core's inputs
    /// and outputs are the model's). A language model embeds a token into
    /// `inputs` floats and decodes the core's `outputs` into one logit per token.
    public var vocabulary: Int

    public init(inputs: Int = 88, outputs: Int = 88, features: Int, bottleneckFeatures: Int? = nil, levels: Int,
                kernelSize: Int, padded: Bool = true, vocabulary: Int = 0) {
        (self.inputs, self.outputs, self.features, self.levels, self.kernelSize, self.padded) =
            (inputs, outputs, features, levels, kernelSize, padded)
        self.bottleneckFeatures = bottleneckFeatures ?? features
        self.vocabulary = vocabulary
    }

    /// A language model as the paper's char_cnn / word_cnn builds it:
    /// `Sequnet(E, [nhid]*(L-1) + [E], E, k)` in valid mode between an
    /// embedding of `vocabulary` tokens and the tied decoder.
    public static func languageModel(vocabulary: Int, embedding: Int, features: Int, levels: Int, kernelSize: Int) -> Self {
        Self(inputs: embedding, outputs: embedding, features: features, bottleneckFeatures: embedding, levels: levels,
             kernelSize: kernelSize, padded: false, vocabulary: vocabulary)
    }

    enum CodingKeys: String, CodingKey {
        case inputs, outputs, features, levels, padded, vocabulary
        case bottleneckFeatures = "bottleneck_features"
        case kernelSize = "kernel_size"
    }

    public static let architecture = "sequnet-plain"
    public static let familyName = "plain Seq-U-Net"

    public var description: String {
        let top = bottleneckFeatures == features ? "" : "/\(bottleneckFeatures)"
        if vocabulary > 0 {
            return "plain Seq-U-Net language model C=\(features)\(top) L=\(levels) K=\(kernelSize), \(vocabulary) tokens embedded in \(inputs)"
        }
        return "plain Seq-U-Net C=\(features)\(top) L=\(levels) K=\(kernelSize), \(inputs) in, \(outputs) out"
    }

    public var hyperparameters: [(name: String, value: Int)] {
        [("inputs", inputs), ("outputs", outputs), ("features", features), ("bottleneck_features", bottleneckFeatures),
         ("levels", levels), ("kernel_size", kernelSize), ("padded", padded ? 1 : 0), ("vocabulary", vocabulary)]
    }

    public var input: NetworkInput { vocabulary > 0 ? .embedding(vocabulary: vocabulary) : .multiHot(keys: inputs) }
    public var output: NetworkOutput { vocabulary > 0 ? .categorical(classes: vocabulary) : .independentSigmoids(keys: outputs) }
    public var timeScales: Int { levels }

    /// Channels of level i.
    func channels(_ level: Int) -> Int { level == levels - 1 ? bottleneckFeatures : features }
    /// Input width of level i's first conv.
    func levelInputs(_ level: Int) -> Int { level == 0 ? inputs : channels(level - 1) }
    /// Vectors a transposed conv keeps: ceil(K/2) of the level above.
    var upsamplingTaps: Int { (kernelSize + 1) / 2 }

    /// Receptive field in steps: the oldest input any output can depend on,
    /// following every path through the levels (a level-i conv reaches back
    /// (K-1)*2^i steps; a transposed conv up to 2*(ceil(K/2)-1)+1 steps of its
    /// lower level).
    public var receptiveField: Int {
        let k = kernelSize
        var encoder = [Int](repeating: 0, count: levels)   // lag of x_i
        var shortcut = [Int](repeating: 0, count: levels)  // lag of s_i
        for i in 0..<(levels - 1) {
            shortcut[i] = (k - 1) << i + encoder[i]
            encoder[i + 1] = (k - 1) << i + shortcut[i]
        }
        var decoder = (k - 1) << (levels - 1) + encoder[levels - 1]
        for i in stride(from: levels - 2, through: 0, by: -1) {
            let up = (upsamplingTaps - 1) << (i + 1) + (1 << i) + decoder
            decoder = (k - 1) << i + max(up, shortcut[i])
        }
        return decoder + 1
    }

    /// There is no priming window: a sequence is fed whole from zero state
    /// (after its pre-roll), so the input size is the receptive field.
    public var inputSize: Int { receptiveField }

    /// The official evaluation pads a sequence of T inputs in front with
    /// zeros to n, the smallest b*2^(L-1) - (2^(L-1)-1) >= T with b >= 2, so
    /// that its last input is a tick of every level: n - T all-zero inputs,
    /// fed from clock 0.
    public func prerollSteps(beforeSequenceOf length: Int) -> Int {
        guard padded else { return 0 }
        let cycle = cycles
        let blocks = max(2, (length + 2 * (cycle - 1)) / cycle)   // ceil((T + cycle - 1) / cycle)
        return blocks * cycle - (cycle - 1) - length
    }

    /// Valid mode (the language models): the window's first input is fed at
    /// clock (1 - length) mod 2^(L-1), so that its last is a tick of every level.
    public func sequenceStartPhase(forLength length: Int) -> Int {
        padded ? 0 : ((1 - length) % cycles + cycles) % cycles
    }

    /// Floats of a state's arena.
    func stateArenaFloats(batch: Int) -> Int {
        let k = kernelSize, widest = max(inputs, features, bottleneckFeatures)
        var rings = 0
        for i in 0..<(levels - 1) {
            rings += WindowRing.floats(dimension: levelInputs(i), taps: k, streams: batch)            // conv1
            rings += WindowRing.floats(dimension: channels(i), taps: k, streams: batch)               // conv2
            rings += WindowRing.floats(dimension: channels(i + 1), taps: upsamplingTaps, streams: batch)
            rings += WindowRing.floats(dimension: channels(i + 1) + channels(i), taps: k, streams: batch)
        }
        rings += WindowRing.floats(dimension: channels(levels - 2), taps: k, streams: batch)          // bottleneck
        // shortcuts and next-up vectors per level, x, v, the up pair, outputs
        // language models: the embedded inputs and the logits too
        let tokens = vocabulary > 0 ? batch * (inputs + vocabulary) : 0
        return rings + batch * (2 * (levels - 1) * widest + 2 * widest + 2 * widest + outputs) + tokens
    }

    public func streamStateBytes(batch: Int) -> Int { stateArenaFloats(batch: batch) * MemoryLayout<Float>.size }

    public func validate() throws {
        guard kernelSize >= 1, kernelSize % 2 == 1 else {
            throw ModelLoadError.invalidHyperParameter("kernel size \(kernelSize) is not odd")
        }
        guard (2...24).contains(levels) else { throw ModelLoadError.invalidHyperParameter("\(levels) levels (need 2...24)") }
        for (name, value) in [("features", features), ("bottleneck features", bottleneckFeatures), ("inputs", inputs),
                              ("outputs", outputs)] {
            guard (1...8192).contains(value) else { throw ModelLoadError.invalidHyperParameter("\(value) \(name)") }
        }
        guard (0...1_000_000).contains(vocabulary), vocabulary != 1 else {
            throw ModelLoadError.invalidHyperParameter("a vocabulary of \(vocabulary) tokens")
        }
    }

    public func makeWeights(_ reader: inout TensorReader) throws -> any NetworkWeights {
        try PlainSeqUNetWeights(config: self, reader: &reader)
    }
}

// MARK: The reference's tensors (SPEC-symbolic.md), each layer's names and shapes once.

extension PlainSeqUNetConfig {
    /// Index of the Conv1d inside a padded or valid `block` Sequential.
    private var convIndex: Int { padded ? 1 : 0 }
    private func conv(_ stem: String, outputs: Int, inputs: Int, kernel: Int? = nil, isOutputLayer: Bool = false) -> ConvSpec {
        ConvSpec("conv.\(stem)", .plain, outputs: outputs, inputs: inputs, kernel: kernel ?? kernelSize, isOutputLayer: isOutputLayer)
    }

    /// Level i's conv.
    func levelConv(_ i: Int) -> ConvSpec {
        conv("downsampling_blocks.\(i).conv1.block.\(convIndex)", outputs: channels(i), inputs: levelInputs(i))
    }
    /// The stride-2 conv from level i to i+1.
    func downsampling(_ i: Int) -> ConvSpec {
        conv("downsampling_blocks.\(i).conv2.block.\(convIndex)", outputs: channels(i), inputs: channels(i))
    }
    var bottleneck: ConvSpec {
        conv("bottleneck_conv.block.\(convIndex)", outputs: channels(levels - 1), inputs: channels(levels - 2))
    }
    /// The stride-2 transposed conv from level i+1 to i (always index 0).
    func upsampling(_ i: Int) -> ConvSpec {
        ConvSpec("conv.upsampling_blocks.\(i).conv1.block.0", .transposed, outputs: channels(i + 1), inputs: channels(i + 1),
                 kernel: kernelSize)
    }
    /// Level i's conv over concat(upsampled, shortcut).
    func upConv(_ i: Int) -> ConvSpec {
        conv("upsampling_blocks.\(i).conv2.block.\(convIndex)", outputs: channels(i), inputs: channels(i + 1) + channels(i))
    }
    var outputConv: ConvSpec { conv("output_conv.block.0", outputs: outputs, inputs: channels(0), kernel: 1, isOutputLayer: true) }

    /// Every conv in the reference's state-dict order.
    var convs: [ConvSpec] {
        var list: [ConvSpec] = []
        for i in 0..<(levels - 1) { list += [levelConv(i), downsampling(i)] }
        for i in 0..<(levels - 1) { list += [upsampling(i), upConv(i)] }
        return list + [bottleneck, outputConv]
    }

    public var tensors: [TensorSpec] {
        guard vocabulary > 0 else { return convs.flatMap(\.tensors) }
        let tokens = TokenLayers.tensors(vocabulary: vocabulary, embedding: inputs, coreOutputs: outputs)
        return [tokens[0]] + convs.flatMap(\.tensors) + tokens[1...]
    }

    public static let markerTensor = "conv.downsampling_blocks.0.conv1.block.1.weight"

    /// Padded (music) or valid (language-model) names of level 0's conv.
    public static func recognises(tensorNames: Set<String>) -> Bool {
        tensorNames.contains(markerTensor) || tensorNames.contains("conv.downsampling_blocks.0.conv1.block.0.weight")
    }

    /// Reads everything off the tensors: L from the down blocks, K, the
    /// widths and the mode from the shapes and names.
    public static func infer(from dict: StateDict, declared: [String: Int]) throws -> PlainSeqUNetConfig {
        let padded = dict.tensors[markerTensor] != nil
        let index = padded ? 1 : 0
        let first = try TensorReader.shape(of: "conv.downsampling_blocks.0.conv1.block.\(index).weight", in: dict,
                                           dimensions: ["features", "inputs", "kernel size"])
        let output = try TensorReader.shape(of: "conv.output_conv.block.0.weight", in: dict,
                                            dimensions: ["outputs", "features", "1"])
        let bottleneck = try TensorReader.shape(of: "conv.bottleneck_conv.block.\(index).weight", in: dict,
                                                dimensions: ["bottleneck features", "features", "kernel size"])
        let blocks = Set(dict.names.compactMap { name -> Int? in
            guard name.hasPrefix("conv.downsampling_blocks.") else { return nil }
            return Int(name.split(separator: ".")[2])
        })
        let config = PlainSeqUNetConfig(inputs: first[1], outputs: output[0], features: first[0],
                                        bottleneckFeatures: bottleneck[0], levels: blocks.count + 1,
                                        kernelSize: first[2], padded: padded,
                                        vocabulary: dict.tensors["encoder.weight"]?.shape.first ?? 0)
        try config.validate()
        return config
    }

    /// `sequnet-plain:features=175,levels=2,kernel=3` (88 keys in and out unless
    /// `inputs=`/`outputs=`), or a language model with `vocabulary=V,embedding=E`.
    public static func parse(_ spec: inout ArchitectureSpec.Values) throws -> PlainSeqUNetConfig {
        let kernel = try spec.take("kernel", default: 3, range: 1...63)
        guard kernel % 2 == 1 else { throw spec.error("kernel must be odd") }
        let features = try spec.take("features", range: 1...4096)
        let vocabulary = try spec.take("vocabulary", default: 0, range: 0...1_000_000)
        if vocabulary > 0 {
            return .languageModel(vocabulary: vocabulary, embedding: try spec.take("embedding", range: 1...4096),
                                  features: features, levels: try spec.take("levels", range: 2...20), kernelSize: kernel)
        }
        return PlainSeqUNetConfig(inputs: try spec.take("inputs", default: 88, range: 1...4096),
                                  outputs: try spec.take("outputs", default: 88, range: 1...65_536),
                                  features: features,
                                  bottleneckFeatures: try spec.take("bottleneck", default: features, range: 1...4096),
                                  levels: try spec.take("levels", range: 2...20), kernelSize: kernel)
    }
}
