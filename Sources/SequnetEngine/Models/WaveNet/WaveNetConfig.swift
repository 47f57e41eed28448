import SequnetCheckpoint

/// Hyper-parameters of the paper's WaveNet baseline (kernel 2, all convs with bias).
public struct WaveNetConfig: ModelConfiguration, Equatable {
    public var classes: Int
    /// Layers per block; layer l has dilation 2^(l mod layersPerBlock).
    public var layersPerBlock: Int
    public var blocks: Int
    /// Residual channels R.
    public var residualChannels: Int
    /// Dilation (gated) channels Dc.
    public var dilationChannels: Int
    /// Skip channels S.
    public var skipChannels: Int
    /// Always 2 in the reference.
    public var kernelSize: Int

    public init(classes: Int = 256, layersPerBlock: Int, blocks: Int, residualChannels: Int,
                dilationChannels: Int, skipChannels: Int, kernelSize: Int = 2) {
        (self.classes, self.layersPerBlock, self.blocks) = (classes, layersPerBlock, blocks)
        (self.residualChannels, self.dilationChannels, self.skipChannels) = (residualChannels, dilationChannels, skipChannels)
        self.kernelSize = kernelSize
    }

    enum CodingKeys: String, CodingKey {
        case classes, blocks
        case layersPerBlock = "layers_per_block"
        case residualChannels = "residual_channels"
        case dilationChannels = "dilation_channels"
        case skipChannels = "skip_channels"
        case kernelSize = "kernel_size"
    }

    public static let architecture = "wavenet"
    public static let familyName = "WaveNet"

    public var description: String {
        "WaveNet \(layersPerBlock)x\(blocks) R=\(residualChannels) Dc=\(dilationChannels) S=\(skipChannels)"
    }

    public var hyperparameters: [(name: String, value: Int)] {
        [("classes", classes), ("layers_per_block", layersPerBlock), ("blocks", blocks),
         ("residual_channels", residualChannels), ("dilation_channels", dilationChannels),
         ("skip_channels", skipChannels), ("kernel_size", kernelSize)]
    }

    public var input: NetworkInput { .oneHot(classes: classes) }
    public var output: NetworkOutput { .categorical(classes: classes) }
    public var timeScales: Int { 1 }

    public var layerCount: Int { layersPerBlock * blocks }

    /// The largest per-stream history a loaded WaveNet may ask for (1 GiB).
    public static let maxStreamStateBytes = 1 << 30

    /// Dilation of layer `l`.
    public func dilation(ofLayer l: Int) -> Int { 1 << (l % layersPerBlock) }

    /// `1 + sum (K-1)*d`: the reference's input size for one output.
    public var receptiveField: Int {
        (0..<layerCount).reduce(1) { $0 + (kernelSize - 1) * dilation(ofLayer: $1) }
    }

    public var inputSize: Int { receptiveField }

    /// Floats of a state's arena: every layer's history, then the per-stream vectors.
    func stateArenaFloats(batch: Int) -> Int {
        let history = (0..<layerCount).reduce(0) { $0 + dilation(ofLayer: $1) } * residualChannels
        return batch * (history + residualChannels + GatedLayerWeights.preActivationFloats(channels: dilationChannels)
                        + layerCount * dilationChannels
                        + 2 * skipChannels + classes) + 64
    }

    public func streamStateBytes(batch: Int) -> Int { stateArenaFloats(batch: batch) * MemoryLayout<Float>.size }

    public func validate() throws {
        guard kernelSize == 2 else {
            throw ModelLoadError.invalidHyperParameter("WaveNet kernel size \(kernelSize); only 2 is supported")
        }
        // A block of N layers dilates up to 2^(N-1) samples. 30 is already far past what the
        // per-stream state cap admits; capping N here keeps every 2^N a safe size to compute.
        guard (1...30).contains(layersPerBlock) else {
            throw ModelLoadError.invalidHyperParameter(
                "\(layersPerBlock) WaveNet layers per block: sequnet supports 1 to 30 (dilation 2^29)")
        }
        guard blocks >= 1 else { throw ModelLoadError.invalidHyperParameter("\(blocks) WaveNet blocks") }
        for (what, value) in [("residual channels", residualChannels), ("dilation channels", dilationChannels),
                              ("skip channels", skipChannels)] where !(1...8192).contains(value) {
            throw ModelLoadError.invalidHyperParameter("\(value) \(what)")
        }
        guard classes >= 2 else { throw ModelLoadError.invalidHyperParameter("\(classes) classes") }
        // A stream keeps d past inputs per layer: a file can declare dilations
        // whose history no machine could hold. The paper's model needs 17 MB.
        let historyVectors = (0..<layerCount).reduce(0) { $0 + dilation(ofLayer: $1) }
        let (stateBytes, overflow) = historyVectors.multipliedReportingOverflow(by: 4 * residualChannels)
        guard !overflow, stateBytes <= Self.maxStreamStateBytes else {
            throw ModelLoadError.invalidHyperParameter(
                "a WaveNet with \(layersPerBlock) layers per block (dilations up to \(1 << (layersPerBlock - 1)) samples) would need "
                + "\(overflow ? "exabytes" : "\(stateBytes >> 20) MiB") of state per stream (limit \(Self.maxStreamStateBytes >> 20) MiB)")
        }
    }

    public func makeWeights(_ reader: inout TensorReader) throws -> any NetworkWeights {
        try WaveNetWeights(config: self, reader: &reader)
    }
}

// MARK: The reference's tensors (SPEC.md): each layer's names and shapes, once.

extension WaveNetConfig {
    var startConv: ConvSpec {
        ConvSpec("start_conv", .plain, outputs: residualChannels, inputs: classes, kernel: 1, isLookupTable: true)
    }
    func filterConv(_ l: Int) -> ConvSpec {
        ConvSpec("filter_convs.\(l)", .plain, outputs: dilationChannels, inputs: residualChannels, kernel: kernelSize)
    }
    func gateConv(_ l: Int) -> ConvSpec {
        ConvSpec("gate_convs.\(l)", .plain, outputs: dilationChannels, inputs: residualChannels, kernel: kernelSize)
    }
    func residualConv(_ l: Int) -> ConvSpec {
        ConvSpec("residual_convs.\(l)", .plain, outputs: residualChannels, inputs: dilationChannels, kernel: 1)
    }
    func skipConv(_ l: Int) -> ConvSpec {
        ConvSpec("skip_convs.\(l)", .plain, outputs: skipChannels, inputs: dilationChannels, kernel: 1)
    }
    var endConv1: ConvSpec { ConvSpec("end_conv_1", .plain, outputs: skipChannels, inputs: skipChannels, kernel: 1) }
    var endConv2: ConvSpec { ConvSpec("end_conv_2", .plain, outputs: classes, inputs: skipChannels, kernel: 1, isOutputLayer: true) }

    /// Every conv, in the order random weights draw them.
    var convs: [ConvSpec] {
        [startConv] + (0..<layerCount).flatMap { [filterConv($0), gateConv($0), residualConv($0), skipConv($0)] }
            + [endConv1, endConv2]
    }

    public var tensors: [TensorSpec] { convs.flatMap(\.tensors) }

    public static let markerTensor = "start_conv.weight"

    /// Reads R, Dc, S, classes and the layer count off the tensors. The state
    /// dict holds layers x blocks only as a product: `declared["layers_per_block"]`
    /// splits it, and 52 layers default to the paper's 13 x 4.
    public static func infer(from dict: StateDict, declared: [String: Int]) throws -> WaveNetConfig {
        func shape(_ name: String, _ dimensions: [String]) throws -> [Int] {
            try TensorReader.shape(of: name, in: dict, dimensions: dimensions)
        }
        let start = try shape("start_conv.weight", ["residual channels", "classes", "1"])
        let filter = try shape("filter_convs.0.weight", ["dilation channels", "residual channels", "kernel size"])
        let skip = try shape("skip_convs.0.weight", ["skip channels", "dilation channels", "1"])
        let layers = Set(dict.names.compactMap { name -> Int? in
            guard name.hasPrefix("filter_convs.") else { return nil }
            return Int(name.split(separator: ".")[1])
        }).count
        let perBlock: Int
        if let given = declared["layers_per_block"] {
            perBlock = given
        } else if layers == 52 {
            perBlock = 13
        } else {
            throw ModelLoadError.invalidHyperParameter(
                "WaveNet with \(layers) layers: give its layers per block with --wavenet-layers N")
        }
        guard perBlock >= 1, layers % perBlock == 0 else {
            throw ModelLoadError.invalidHyperParameter("\(layers) WaveNet layers do not split into blocks of \(perBlock)")
        }
        let config = WaveNetConfig(classes: start[1], layersPerBlock: perBlock, blocks: layers / perBlock,
                                   residualChannels: start[0], dilationChannels: filter[0],
                                   skipChannels: skip[0], kernelSize: filter[2])
        try config.validate()
        return config
    }

    public static func parse(_ spec: inout ArchitectureSpec.Values) throws -> WaveNetConfig {
        WaveNetConfig(classes: try spec.take("classes", default: 256, range: 2...65_536),
                      layersPerBlock: try spec.take("layers", range: 1...20),
                      blocks: try spec.take("blocks", range: 1...64),
                      residualChannels: try spec.take("residual", range: 1...4096),
                      dilationChannels: try spec.take("dilation", range: 1...4096),
                      skipChannels: try spec.take("skip", range: 1...8192))
    }
}
