import SequnetCheckpoint

/// Hyper-parameters of a residual gated Seq-U-Net (the paper's audio model),
/// as read off its state dict.
///
/// The paper's audio model is `features: 180, levels: 11, depth: 2, kernelSize: 5`.
public struct SeqUNetConfig: ModelConfiguration, Equatable {
    /// Number of input classes (one-hot size) and output logits.
    public var classes: Int
    /// Feature channels C at every level.
    public var features: Int
    /// Number of time scales L; level i runs at 1/2^i of the step rate.
    public var levels: Int
    /// Residual convolutions per block D.
    public var depth: Int
    /// Odd kernel size K of every convolution.
    public var kernelSize: Int

    public init(classes: Int = 256, features: Int, levels: Int, depth: Int, kernelSize: Int) {
        (self.classes, self.features, self.levels, self.depth, self.kernelSize) = (classes, features, levels, depth, kernelSize)
    }

    enum CodingKeys: String, CodingKey {
        case classes, features, levels, depth
        case kernelSize = "kernel_size"
    }

    public static let architecture = "sequnet"
    public static let familyName = "Seq-U-Net"

    public var description: String { "Seq-U-Net C=\(features) L=\(levels) D=\(depth) K=\(kernelSize)" }

    public var hyperparameters: [(name: String, value: Int)] {
        [("classes", classes), ("features", features), ("levels", levels), ("depth", depth), ("kernel_size", kernelSize)]
    }

    public var input: NetworkInput { .oneHot(classes: classes) }
    public var output: NetworkOutput { .categorical(classes: classes) }
    public var timeScales: Int { levels }

    /// The reference's valid-pass input size for one cycle of outputs.
    ///
    /// Walks the network backwards from `cycles` outputs the way the reference
    /// sizes its valid convolutions: a conv adds K-1 inputs, a stride-2 conv
    /// needs (o-1)*2+1 positions first, and a transposed stride-2 conv needs
    /// ceil(o/2) inputs after adding K-1. Priming keeps this many samples.
    public var inputSize: Int {
        let k = kernelSize
        var size = cycles
        for _ in 0..<(levels - 1) {           // up blocks, level 0 upwards
            size += depth * (k - 1)
            size = (size + k - 1 + 1) / 2      // ceil((size + k - 1) / 2)
        }
        size += depth * (k - 1)                // bottleneck
        for _ in 0..<(levels - 1) {            // down blocks, deepest first
            size = (size - 1) * 2 + 1 + (k - 1)
            size += depth * (k - 1)
        }
        return size + k - 1                    // input conv
    }

    /// Receptive field in samples: the paper reports the valid-pass input
    /// size (32 761 for its audio model), so the two are the same number.
    public var receptiveField: Int { inputSize }

    /// Floats of a state's arena: every ring buffer, then the per-stream vectors.
    func stateArenaFloats(batch: Int) -> Int {
        let c = features, k = kernelSize, d = depth, l = levels, m = (k + 1) / 2
        func ring(_ dimension: Int, _ taps: Int) -> Int { WindowRing.floats(dimension: dimension, taps: taps, streams: batch) }
        return ((l - 1) * d + (l - 1) + d) * ring(c, k) + (l - 1) * ring(c, m) + (l - 1) * d * ring(2 * c, k)
            + batch * (2 * (l - 1) * c + 3 * c + GatedLayerWeights.preActivationFloats(channels: c, units: 2) + classes) + 64
    }

    /// Input classes a stream keeps: the 2K-1 that level 0's first down conv
    /// reaches through the input conv (the input conv itself reads the newest K).
    var classSpan: Int { 2 * kernelSize - 1 }

    public func streamStateBytes(batch: Int) -> Int {
        // The arena, and the class ring, twice over (see `WindowRing`).
        stateArenaFloats(batch: batch) * MemoryLayout<Float>.size + batch * 2 * classSpan * MemoryLayout<Int32>.size
    }

    public func validate() throws {
        guard kernelSize >= 1, kernelSize % 2 == 1 else {
            throw ModelLoadError.invalidHyperParameter("kernel size \(kernelSize) is not odd")
        }
        guard (2...24).contains(levels) else {
            throw ModelLoadError.invalidHyperParameter("\(levels) levels (need 2...24)")
        }
        guard depth >= 1 else { throw ModelLoadError.invalidHyperParameter("down blocks hold no residual convs") }
        guard (1...8192).contains(features) else { throw ModelLoadError.invalidHyperParameter("\(features) features") }
        guard classes >= 2 else { throw ModelLoadError.invalidHyperParameter("\(classes) classes") }
    }

    public func makeWeights(_ reader: inout TensorReader) throws -> any NetworkWeights {
        try SeqUNetWeights(config: self, reader: &reader)
    }
}

// MARK: The reference's tensors (SPEC.md): each layer's names and shapes, once.

extension SeqUNetConfig {
    var inputConv: ConvSpec { ConvSpec("input_conv", .plain, outputs: features, inputs: classes, kernel: kernelSize, isLookupTable: true) }
    /// Residual conv j of down block i.
    func downConv(_ i: Int, _ j: Int) -> ConvSpec { gated("downsampling_blocks.\(i).convs.\(j)", inputs: features) }
    /// The strided conv from level i to i+1.
    func downsampling(_ i: Int) -> ConvSpec { gated("downsampling_blocks.\(i).downconv", inputs: features) }
    /// The transposed conv from level i+1 to i.
    func upsampling(_ i: Int) -> ConvSpec {
        ConvSpec("upsampling_blocks.\(i).upconv", .gatedTransposed, outputs: features, inputs: features, kernel: kernelSize)
    }
    /// Residual conv j of up block i, over concat(shortcut, upsampled).
    func upConv(_ i: Int, _ j: Int) -> ConvSpec { gated("upsampling_blocks.\(i).convs.\(j)", inputs: 2 * features) }
    func bottleneck(_ j: Int) -> ConvSpec { gated("bottlenecks.\(j)", inputs: features) }
    var outputConv: ConvSpec { ConvSpec("output_conv.1", .plain, outputs: classes, inputs: features, kernel: 1, isOutputLayer: true) }

    private func gated(_ prefix: String, inputs: Int) -> ConvSpec {
        ConvSpec(prefix, .gated, outputs: features, inputs: inputs, kernel: kernelSize)
    }

    /// Every conv, in the order random weights draw them.
    var convs: [ConvSpec] {
        var list = [inputConv]
        for i in 0..<(levels - 1) {
            list += (0..<depth).map { downConv(i, $0) }
            list += [downsampling(i), upsampling(i)]
            list += (0..<depth).map { upConv(i, $0) }
        }
        list += (0..<depth).map { bottleneck($0) }
        return list + [outputConv]
    }

    public var tensors: [TensorSpec] { convs.flatMap(\.tensors) }

    public static let markerTensor = "input_conv.weight"

    /// Reads C, K, classes, L and D off the tensor names and shapes.
    public static func infer(from dict: StateDict, declared: [String: Int]) throws -> SeqUNetConfig {
        let input = try TensorReader.shape(of: "input_conv.weight", in: dict, dimensions: ["features", "classes", "kernel size"])
        func indices(under prefix: String, at component: Int) -> Set<Int> {
            Set(dict.names.compactMap { name -> Int? in
                guard name.hasPrefix(prefix) else { return nil }
                let parts = name.split(separator: ".")
                return parts.count > component ? Int(parts[component]) : nil
            })
        }
        let config = SeqUNetConfig(classes: input[1], features: input[0],
                                   levels: indices(under: "downsampling_blocks.", at: 1).count + 1,
                                   depth: indices(under: "downsampling_blocks.0.convs.", at: 3).count,
                                   kernelSize: input[2])
        try config.validate()
        return config
    }

    public static func parse(_ spec: inout ArchitectureSpec.Values) throws -> SeqUNetConfig {
        let kernel = try spec.take("kernel", default: 5, range: 1...63)
        guard kernel % 2 == 1 else { throw spec.error("kernel must be odd") }
        return SeqUNetConfig(classes: try spec.take("classes", default: 256, range: 2...65_536),
                             features: try spec.take("features", range: 1...4096),
                             levels: try spec.take("levels", range: 2...20),
                             depth: try spec.take("depth", default: 1, range: 1...16),
                             kernelSize: kernel)
    }
}
