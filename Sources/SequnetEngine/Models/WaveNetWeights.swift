import SequnetCheckpoint

/// A WaveNet's weights in step layouts. Immutable; shared by any number of
/// `WaveNetState`s.
public final class WaveNetWeights: @unchecked Sendable {
    public let config: WaveNetConfig

    /// `[R, classes]`: the 1x1 start conv, read one column per sample.
    let startTable: FloatBuffer   // [classes, R], row per class
    let startBias: FloatBuffer    // [R]
    /// Per layer `[2Dc, 2R]`: filter rows then gate rows; columns are the
    /// older tap x[n-d] (first R) then the newer x[n].
    let dilated: [GatedLayerWeights]
    /// Per layer `[R+S, Dc]`: residual rows then skip rows, with biases `[R+S]`.
    let residualSkip: [FloatBuffer]
    let residualSkipBias: [FloatBuffer]
    let end1: FloatBuffer, end1Bias: FloatBuffer   // [S, S], [S]
    let end2: FloatBuffer, end2Bias: FloatBuffer   // [classes, S], [classes]

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
        guard perBlock >= 1, perBlock <= 30, layers % perBlock == 0 else {
            throw ModelLoadError.invalidHyperParameter(
                "\(layers) WaveNet layers do not split into blocks of \(perBlock)")
        }
        return WaveNetConfig(classes: start[1], layersPerBlock: perBlock, blocks: layers / perBlock,
                             residualChannels: start[0], dilationChannels: filter[0],
                             skipChannels: skip[0], kernelSize: filter[2])
    }

    public init(config: WaveNetConfig, stateDict: StateDict) throws {
        guard config.kernelSize == 2 else {
            throw ModelLoadError.invalidHyperParameter("WaveNet kernel size \(config.kernelSize); only 2 is supported")
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
        var residualSkip: [FloatBuffer] = [], residualSkipBias: [FloatBuffer] = []
        for l in 0..<config.layerCount {
            dilated.append(GatedLayerWeights(
                filter: try reader.take("filter_convs.\(l).weight", shape: [dc, r, 2]),
                gate: try reader.take("gate_convs.\(l).weight", shape: [dc, r, 2]),
                filterBias: try reader.take("filter_convs.\(l).bias", shape: [dc]),
                gateBias: try reader.take("gate_convs.\(l).bias", shape: [dc])))
            let res = try reader.take("residual_convs.\(l).weight", shape: [r, dc, 1])
            let resBias = try reader.take("residual_convs.\(l).bias", shape: [r])
            let skip = try reader.take("skip_convs.\(l).weight", shape: [s, dc, 1])
            let skipBias = try reader.take("skip_convs.\(l).bias", shape: [s])
            residualSkip.append(FloatBuffer(res.values + skip.values))
            residualSkipBias.append(FloatBuffer(resBias.values + skipBias.values))
        }
        self.dilated = dilated
        self.residualSkip = residualSkip
        self.residualSkipBias = residualSkipBias
        end1 = FloatBuffer(try reader.take("end_conv_1.weight", shape: [s, s, 1]).values)
        end1Bias = FloatBuffer(try reader.take("end_conv_1.bias", shape: [s]).values)
        end2 = FloatBuffer(try reader.take("end_conv_2.weight", shape: [classes, s, 1]).values)
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
        for l in 0..<config.layerCount {
            let t = dilated[l].referenceTensors(inputs: r, taps: 2)
            dict.set("filter_convs.\(l).weight", t.filter)
            dict.set("filter_convs.\(l).bias", t.filterBias)
            dict.set("gate_convs.\(l).weight", t.gate)
            dict.set("gate_convs.\(l).bias", t.gateBias)
            let m = residualSkip[l].array, b = residualSkipBias[l].array
            dict.set("residual_convs.\(l).weight", Tensor(shape: [r, dc, 1], values: Array(m[0..<(r * dc)])))
            dict.set("residual_convs.\(l).bias", Tensor(shape: [r], values: Array(b[0..<r])))
            dict.set("skip_convs.\(l).weight", Tensor(shape: [s, dc, 1], values: Array(m[(r * dc)...])))
            dict.set("skip_convs.\(l).bias", Tensor(shape: [s], values: Array(b[r...])))
        }
        dict.set("end_conv_1.weight", Tensor(shape: [s, s, 1], values: end1.array))
        dict.set("end_conv_1.bias", Tensor(shape: [s], values: end1Bias.array))
        dict.set("end_conv_2.weight", Tensor(shape: [classes, s, 1], values: end2.array))
        dict.set("end_conv_2.bias", Tensor(shape: [classes], values: end2Bias.array))
        return dict
    }

    public var parameterCount: Int {
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels
        let perLayer = 2 * (dc * r * 2 + dc) + (r * dc + r) + (s * dc + s)
        return (r * config.classes + r) + config.layerCount * perLayer + (s * s + s) + (config.classes * s + config.classes)
    }

    public var multiplyAddsPerSample: Double {
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels
        let perLayer = 2 * dc * 2 * r + (r + s) * dc
        return Double(r + config.layerCount * perLayer + s * s + config.classes * s)
    }

    public var weightBytesPerSample: Double {
        Double(parameterCount - config.classes * config.residualChannels + config.residualChannels) * 4
    }
}
