import SequnetCheckpoint

/// A TCN's weights: weight_norm folded at load (`v * g / ||v||`), every conv
/// a window matrix over its last K dilated inputs. Immutable; shared by any
/// number of states.
public final class TCNWeights: NetworkWeights, @unchecked Sendable {
    public let config: TCNConfig
    /// `[L]`: each block's two convs, `[C, K*in]` and `[C, K*C]`.
    let conv1: [DenseConvWeights]
    let conv2: [DenseConvWeights]
    /// `[L]`: the 1x1 residual conv where a block changes width, else nil.
    let downsample: [DenseConvWeights?]
    /// A music model's `[outputs, C_last]` linear layer (nil for a language model).
    let linear: DenseConvWeights?
    /// A language model's embedding and decoder (nil for music).
    let tokens: TokenLayers?

    init(config: TCNConfig, reader: inout TensorReader) throws {
        self.config = config
        let precision = reader.precision
        tokens = config.vocabulary > 0
            ? try TokenLayers(vocabulary: config.vocabulary, embedding: config.inputs, coreOutputs: config.lastFeatures, reader: &reader)
            : nil
        var conv1: [DenseConvWeights] = [], conv2: [DenseConvWeights] = [], downsample: [DenseConvWeights?] = []
        for i in 0..<config.levels {
            let (w1, b1) = try reader.weightNormedConv(config.conv1(i))
            conv1.append(DenseConvWeights(conv: w1, bias: b1, precision: precision))
            let (w2, b2) = try reader.weightNormedConv(config.conv2(i))
            conv2.append(DenseConvWeights(conv: w2, bias: b2, precision: precision))
            downsample.append(try config.downsample(i).map { spec in
                let (w, b) = try reader.conv(spec)
                return DenseConvWeights(conv: w, bias: b, precision: precision)
            })
            for (name, shape) in config.duplicates(i) { try reader.skipDuplicate(name, shape: shape) }
        }
        (self.conv1, self.conv2, self.downsample) = (conv1, conv2, downsample)
        if tokens == nil {
            let weight = try reader.take(config.linearWeight), bias = try reader.take(config.linearBias)
            linear = DenseConvWeights(conv: Tensor(shape: weight.shape + [1], values: weight.values), bias: bias,
                                      precision: precision.forOutputLayer)
        } else {
            linear = nil
        }
        try reader.finish()
    }

    public var configuration: any ModelConfiguration { config }

    public func makeState(batch: Int, team: RowTeam?) -> any NetworkState {
        TCNState(weights: self, batch: batch, team: team)
    }

    public func exportTensors() -> StateDict {
        var dict = StateDict(format: .safetensors)
        tokens?.exportEmbedding(into: &dict)
        for i in 0..<config.levels {
            dict.put(config.conv1(i), weight: conv1[i].referenceWeight(), bias: conv1[i].bias.array)
            dict.put(config.conv2(i), weight: conv2[i].referenceWeight(), bias: conv2[i].bias.array)
            if let spec = config.downsample(i), let layer = downsample[i] {
                dict.put(spec, weight: layer.referenceWeight(), bias: layer.bias.array)
            }
        }
        if let linear {
            dict.set(config.linearWeight.name, Tensor(shape: config.linearWeight.shape, values: linear.referenceWeight()))
            dict.set(config.linearBias.name, Tensor(shape: config.linearBias.shape, values: linear.bias.array))
        }
        tokens?.exportDecoder(into: &dict)
        return dict
    }

    // MARK: Cost (every layer runs every step)

    private var layers: [DenseConvWeights] { conv1 + conv2 + downsample.compactMap { $0 } + (linear.map { [$0] } ?? []) }

    public var schedule: [ScheduledProduct] {
        var products: [ScheduledProduct] = []
        for i in 0..<config.levels {
            products += [ScheduledProduct(conv1[i].matrix, level: 0), ScheduledProduct(conv2[i].matrix, level: 0)]
            if let d = downsample[i] { products.append(ScheduledProduct(d.matrix, level: 0)) }
        }
        if let linear { products.append(ScheduledProduct(linear.matrix, level: 0)) }
        if let tokens { products.append(ScheduledProduct(tokens.decoder, level: 0)) }
        return products
    }

    public var multiplyAddsPerStep: Double { Double(layers.map(\.multiplyAdds).reduce(0, +) + (tokens?.multiplyAdds ?? 0)) }

    public var weightReads: [WeightReads] {
        [WeightReads(periodSamples: 1, bytes: Double(layers.map(\.weightBytes).reduce(0, +) + (tokens?.weightBytes ?? 0)))]
    }
}
