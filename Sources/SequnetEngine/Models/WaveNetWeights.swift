import SequnetCheckpoint

/// A WaveNet's weights in step layouts. Immutable; shared by any number of
/// `WaveNetState`s.
public final class WaveNetWeights: @unchecked Sendable {
    public let config: WaveNetConfig

    /// `[classes, R]`: the 1x1 start conv's column for each class, read one row per sample.
    let startTable: FloatBuffer
    let startBias: FloatBuffer    // [R]
    /// Per layer `[2Dc, 2R]`: filter rows then gate rows; columns are the
    /// older tap x[n-d] (first R) then the newer x[n].
    let dilated: [GatedLayerWeights]
    /// Per layer `[R, Dc]` and `[R]`: the 1x1 residual conv.
    let residual: [PanelMatrix]
    let residualBias: [FloatBuffer]
    /// `[S, layers*Dc]`: every layer's skip conv side by side. The skip sum is
    /// linear, so it is one product over all layers' gated outputs at the end.
    let skipAll: PanelMatrix
    /// `[S]`: the sum of every layer's skip bias.
    let skipBiasSum: FloatBuffer
    /// Per layer `[S]`, kept only to export the state dict.
    let skipBiases: [[Float]]
    let end1: PanelMatrix, end1Bias: FloatBuffer   // [S, S], [S]
    let end2: PanelMatrix, end2Bias: FloatBuffer   // [classes, S], [classes]

    /// Builds the weights from a reference state dict. The state dict holds
    /// layers x blocks only as a product: `layersPerBlock` splits it, and
    /// defaults to 13 (the paper's) when there are 52 layers.
    public convenience init(stateDict: StateDict, layersPerBlock: Int?) throws {
        let config = try WaveNetWeights.inferConfig(stateDict, layersPerBlock: layersPerBlock)
        try self.init(config: config, stateDict: stateDict)
    }

    /// Reads R, Dc, S, classes and the layer count off the tensors.
    public static func inferConfig(_ dict: StateDict, layersPerBlock: Int?) throws -> WaveNetConfig {
        guard let start = dict.tensors["start_conv.weight"]?.shape, start.count == 3 else {
            throw ModelLoadError.missingTensor("start_conv.weight")
        }
        guard let filter = dict.tensors["filter_convs.0.weight"]?.shape, filter.count == 3 else {
            throw ModelLoadError.missingTensor("filter_convs.0.weight")
        }
        guard let skip = dict.tensors["skip_convs.0.weight"]?.shape, skip.count == 3 else {
            throw ModelLoadError.missingTensor("skip_convs.0.weight")
        }
        let layers = Set(dict.names.compactMap { name -> Int? in
            guard name.hasPrefix("filter_convs.") else { return nil }
            return Int(name.split(separator: ".")[1])
        }).count
        let perBlock: Int
        if let given = layersPerBlock {
            perBlock = given
        } else if let stored = dict.metadata["wavenet.layers_per_block"].flatMap(Int.init) {
            perBlock = stored
        } else if layers == 52 {
            perBlock = 13
        } else {
            throw ModelLoadError.invalidHyperParameter(
                "WaveNet with \(layers) layers: give its layers per block with --wavenet-layers N")
        }
        // A block of N layers dilates up to 2^(N-1) samples. 30 is already far past what the
        // per-stream state cap admits; capping N here keeps every 2^N a safe size to compute.
        guard perBlock <= 30 else {
            throw ModelLoadError.invalidHyperParameter(
                "\(perBlock) WaveNet layers per block: sequnet supports at most 30 (dilation 2^29)")
        }
        guard perBlock >= 1, layers % perBlock == 0 else {
            throw ModelLoadError.invalidHyperParameter(
                "\(layers) WaveNet layers do not split into blocks of \(perBlock)")
        }
        for (what, value) in [("residual channels", start[0]), ("dilation channels", filter[0]), ("skip channels", skip[0])]
        where value < 1 || value > 8192 {
            throw ModelLoadError.invalidHyperParameter("\(value) \(what)")
        }
        guard layers >= 1 else { throw ModelLoadError.missingTensor("filter_convs.0.weight") }
        guard start[1] == 256 else {
            throw ModelLoadError.invalidHyperParameter("\(start[1]) classes; sequnet generates 8-bit mu-law (256 classes)")
        }
        return WaveNetConfig(classes: start[1], layersPerBlock: perBlock, blocks: layers / perBlock,
                             residualChannels: start[0], dilationChannels: filter[0],
                             skipChannels: skip[0], kernelSize: filter[2])
    }

    public init(config: WaveNetConfig, stateDict: StateDict) throws {
        guard config.kernelSize == 2 else {
            throw ModelLoadError.invalidHyperParameter("WaveNet kernel size \(config.kernelSize); only 2 is supported")
        }
        // A stream keeps d past inputs per layer: a file can declare dilations
        // whose history no machine could hold. The paper's model needs 17 MB.
        let historyVectors = (0..<config.layerCount).reduce(0) { $0 + (1 << ($1 % config.layersPerBlock)) }
        let (stateBytes, overflow) = historyVectors.multipliedReportingOverflow(by: 4 * config.residualChannels)
        guard !overflow, stateBytes <= WaveNetConfig.maxStreamStateBytes else {
            throw ModelLoadError.invalidHyperParameter(
                "a WaveNet with \(config.layersPerBlock) layers per block (dilations up to \(1 << (config.layersPerBlock - 1)) samples) would need "
                + "\(overflow ? "exabytes" : "\(stateBytes >> 20) MiB") of state per stream (limit \(WaveNetConfig.maxStreamStateBytes >> 20) MiB)")
        }
        self.config = config
        var reader = TensorReader(stateDict)
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels
        let classes = config.classes

        let start = try reader.take("start_conv.weight", shape: [r, classes, 1])
        startTable = FloatBuffer(count: classes * r)
        for o in 0..<r { for cls in 0..<classes { startTable[cls * r + o] = start.values[o * classes + cls] } }
        startBias = FloatBuffer(try reader.take("start_conv.bias", shape: [r]).values)

        var dilated: [GatedLayerWeights] = []
        var residual: [PanelMatrix] = [], residualBias: [FloatBuffer] = []
        var skipBiases: [[Float]] = []
        let layers = config.layerCount
        var skipAll = [Float](repeating: 0, count: s * layers * dc)
        var skipBiasSum = [Float](repeating: 0, count: s)
        for l in 0..<layers {
            dilated.append(GatedLayerWeights(
                filter: try reader.take("filter_convs.\(l).weight", shape: [dc, r, 2]),
                gate: try reader.take("gate_convs.\(l).weight", shape: [dc, r, 2]),
                filterBias: try reader.take("filter_convs.\(l).bias", shape: [dc]),
                gateBias: try reader.take("gate_convs.\(l).bias", shape: [dc])))
            residual.append(PanelMatrix(rowMajor: try reader.take("residual_convs.\(l).weight", shape: [r, dc, 1]).values,
                                        rows: r, columns: dc))
            residualBias.append(FloatBuffer(try reader.take("residual_convs.\(l).bias", shape: [r]).values))
            let skip = try reader.take("skip_convs.\(l).weight", shape: [s, dc, 1]).values
            for o in 0..<s {
                for i in 0..<dc { skipAll[o * layers * dc + l * dc + i] = skip[o * dc + i] }
            }
            let bias = try reader.take("skip_convs.\(l).bias", shape: [s]).values
            skipBiases.append(bias)
            for o in 0..<s { skipBiasSum[o] += bias[o] }
        }
        self.dilated = dilated
        self.residual = residual
        self.residualBias = residualBias
        self.skipAll = PanelMatrix(rowMajor: skipAll, rows: s, columns: layers * dc)
        self.skipBiasSum = FloatBuffer(skipBiasSum)
        self.skipBiases = skipBiases
        end1 = PanelMatrix(rowMajor: try reader.take("end_conv_1.weight", shape: [s, s, 1]).values, rows: s, columns: s)
        end1Bias = FloatBuffer(try reader.take("end_conv_1.bias", shape: [s]).values)
        end2 = PanelMatrix(rowMajor: try reader.take("end_conv_2.weight", shape: [classes, s, 1]).values,
                           rows: classes, columns: s)
        end2Bias = FloatBuffer(try reader.take("end_conv_2.bias", shape: [classes]).values)
        try reader.finish()
    }

    /// The weights back in the reference's names and layouts.
    public func stateDict() -> StateDict {
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels
        let classes = config.classes
        var dict = StateDict(format: .safetensors)
        var start = [Float](repeating: 0, count: r * classes)
        for o in 0..<r { for cls in 0..<classes { start[o * classes + cls] = startTable[cls * r + o] } }
        dict.set("start_conv.weight", Tensor(shape: [r, classes, 1], values: start))
        dict.set("start_conv.bias", Tensor(shape: [r], values: startBias.array))
        let layers = config.layerCount
        let skipAll = self.skipAll.rowMajor()
        for l in 0..<layers {
            let t = dilated[l].referenceTensors(inputs: r, taps: 2)
            dict.set("filter_convs.\(l).weight", t.filter)
            dict.set("filter_convs.\(l).bias", t.filterBias)
            dict.set("gate_convs.\(l).weight", t.gate)
            dict.set("gate_convs.\(l).bias", t.gateBias)
            dict.set("residual_convs.\(l).weight", Tensor(shape: [r, dc, 1], values: residual[l].rowMajor()))
            dict.set("residual_convs.\(l).bias", Tensor(shape: [r], values: residualBias[l].array))
            var skip = [Float](repeating: 0, count: s * dc)
            for o in 0..<s { for i in 0..<dc { skip[o * dc + i] = skipAll[o * layers * dc + l * dc + i] } }
            dict.set("skip_convs.\(l).weight", Tensor(shape: [s, dc, 1], values: skip))
            dict.set("skip_convs.\(l).bias", Tensor(shape: [s], values: skipBiases[l]))
        }
        dict.set("end_conv_1.weight", Tensor(shape: [s, s, 1], values: end1.rowMajor()))
        dict.set("end_conv_1.bias", Tensor(shape: [s], values: end1Bias.array))
        dict.set("end_conv_2.weight", Tensor(shape: [classes, s, 1], values: end2.rowMajor()))
        dict.set("end_conv_2.bias", Tensor(shape: [classes], values: end2Bias.array))
        return dict
    }

    public var parameterCount: Int {
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels
        let perLayer = 2 * (dc * r * 2 + dc) + (r * dc + r) + (s * dc + s)
        return (r * config.classes + r) + config.layerCount * perLayer + (s * s + s) + (config.classes * s + config.classes)
    }

    /// Multiply-adds per sample: every layer's dilated conv, the residual
    /// convs of all but the last layer (whose output nothing reads), one
    /// product for all skips, and the two end convs.
    public var multiplyAddsPerSample: Double {
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels
        let layers = config.layerCount
        return Double(r + layers * (2 * dc * 2 * r) + (layers - 1) * r * dc + s * layers * dc
                      + s * s + config.classes * s)
    }

    /// Every weight a WaveNet reads, it reads at every sample.
    public var weightReads: [WeightReads] {
        [WeightReads(periodSamples: 1, bytes: weightBytesPerSample)]
    }

    /// Weight bytes read per sample (the start conv reads one column).
    public var weightBytesPerSample: Double {
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels
        let layers = config.layerCount
        let floats = 2 * r + layers * (2 * dc * 2 * r + 2 * dc) + (layers - 1) * (r * dc + r)
            + s * layers * dc + s + s * s + s + config.classes * s + config.classes
        return Double(floats * 4)
    }
}
