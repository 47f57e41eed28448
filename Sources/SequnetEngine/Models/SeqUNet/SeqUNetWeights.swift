import SequnetCheckpoint

/// A Seq-U-Net's weights, rearranged once at load time into the layouts the
/// streaming step multiplies directly. Immutable and shared by any number of
/// `SeqUNetState`s.
public final class SeqUNetWeights: NetworkWeights, @unchecked Sendable {
    public let config: SeqUNetConfig

    /// The input conv, `[K][classes][C]`: the conv over a one-hot window is a
    /// sum of K picked columns.
    let inputTable: OneHotInputTable
    /// `[C]`
    let inputBias: FloatBuffer
    /// `[L-1][D]`: residual convs of down block i, each `[2C, K*C]`.
    let downConvs: [[GatedLayerWeights]]
    /// `[L-1]`: strided conv from level i to i+1, `[2C, K*C]`.
    let downsampling: [GatedLayerWeights]
    /// `[D]`: residual convs at level L-1, `[2C, K*C]`.
    let bottleneck: [GatedLayerWeights]
    /// `[L-1]`: transposed conv from level i+1 to i, `[4C, ceil(K/2)*C]` (now and next).
    let upsampling: [GatedLayerWeights]
    /// `[L-1][D]`: residual convs of up block i over concat(c, up), `[2C, K*2C]`.
    let upConvs: [[GatedLayerWeights]]
    /// The input conv and level 0's first down conv as one, once the conv's
    /// window is full (fp32 weights with at least two levels; nil otherwise).
    let foldedInput: FoldedInputConv?
    /// `[classes, C]`
    let outputMatrix: PackedMatrix
    /// `[classes]`
    let outputBias: FloatBuffer

    /// Builds the weights for `config`; every tensor must match it exactly,
    /// and every tensor must be used.
    init(config: SeqUNetConfig, reader: inout TensorReader) throws {
        self.config = config
        let input = try reader.conv(config.inputConv)
        inputTable = OneHotInputTable(weight: input.weight)
        inputBias = FloatBuffer(input.bias.values)
        var downConvs: [[GatedLayerWeights]] = [], downsampling: [GatedLayerWeights] = []
        var upsampling: [GatedLayerWeights] = [], upConvs: [[GatedLayerWeights]] = []
        for i in 0..<(config.levels - 1) {
            downConvs.append(try (0..<config.depth).map { try reader.gated(config.downConv(i, $0)) })
            downsampling.append(try reader.gated(config.downsampling(i)))
            upsampling.append(try reader.gated(config.upsampling(i)))
            upConvs.append(try (0..<config.depth).map { try reader.gated(config.upConv(i, $0)) })
        }
        self.downConvs = downConvs
        self.downsampling = downsampling
        self.upsampling = upsampling
        self.upConvs = upConvs
        bottleneck = try (0..<config.depth).map { try reader.gated(config.bottleneck($0)) }
        if let first = downConvs.first?.first, first.matrix.precision == .fp32 {
            foldedInput = FoldedInputConv(input: inputTable, inputBias: inputBias, conv: first)
        } else {
            foldedInput = nil
        }
        let output = try reader.conv(config.outputConv)
        outputMatrix = PackedMatrix(rowMajor: output.weight.values, rows: config.classes, columns: config.features,
                                    precision: reader.precision.forOutputLayer)
        outputBias = FloatBuffer(output.bias.values)
        try reader.finish()
    }

    public var configuration: any ModelConfiguration { config }

    public func makeState(batch: Int, team: RowTeam?) -> any NetworkState {
        SeqUNetState(weights: self, batch: batch, team: team)
    }

    public func exportTensors() -> StateDict {
        var dict = StateDict(format: .safetensors)
        dict.put(config.inputConv, weight: inputTable.referenceWeight(), bias: inputBias.array)
        for i in 0..<(config.levels - 1) {
            for j in 0..<config.depth { dict.put(config.downConv(i, j), downConvs[i][j]) }
            dict.put(config.downsampling(i), downsampling[i])
            dict.put(config.upsampling(i), upsampling[i])
            for j in 0..<config.depth { dict.put(config.upConv(i, j), upConvs[i][j]) }
        }
        for j in 0..<config.depth { dict.put(config.bottleneck(j), bottleneck[j]) }
        dict.put(config.outputConv, weight: outputMatrix.rowMajor(), bias: outputBias.array)
        return dict
    }

    // MARK: Cost

    /// The products in step order, as the reference computes them: down
    /// path, bottleneck, up path, output. (Level 0's first down conv stays
    /// in, though with fp32 weights the engine adds folded table rows instead.)
    public var schedule: [ScheduledProduct] {
        let l = config.levels
        var products: [ScheduledProduct] = []
        for i in 0..<(l - 1) {
            products += downConvs[i].map { ScheduledProduct($0, level: i) }
            products.append(ScheduledProduct(downsampling[i], level: i + 1))
        }
        products += bottleneck.map { ScheduledProduct($0, level: l - 1) }
        for i in stride(from: l - 2, through: 0, by: -1) {
            products.append(ScheduledProduct(upsampling[i], level: i + 1))
            products += upConvs[i].map { ScheduledProduct($0, level: i) }
        }
        return products + [ScheduledProduct(outputMatrix, level: 0)]
    }

    /// Multiply-adds per generated sample, averaged over a clock cycle
    /// (level i runs every 2^i samples; the upconv at every tick of level i+1).
    public var multiplyAddsPerStep: Double {
        perStepAverage { $0.multiplyAdds } + Double(config.kernelSize * config.features + outputMatrix.multiplyAdds)
            + foldDifference { Double($0.span * $0.rows) - Double($1.multiplyAdds) }
    }

    /// Level 0's first down conv, every sample, as folded table rows instead
    /// of its product: `change(folded, conv)` (what the tables cost minus what
    /// the product did), or 0 without the fold.
    private func foldDifference(_ change: (FoldedInputConv, GatedLayerWeights) -> Double) -> Double {
        guard let folded = foldedInput, let conv = downConvs.first?.first else { return 0 }
        return change(folded, conv)
    }

    /// The input conv's K picked columns and bias, and the output conv, read every sample.
    private var inputOutputBytesPerStep: Double {
        Double((config.kernelSize + 1) * config.features * MemoryLayout<Float>.size
               + outputMatrix.bytesPerProduct + (config.classes + config.features + 1) * MemoryLayout<Float>.size)
    }

    /// Weight bytes read at each tick, grouped by how many samples lie between
    /// ticks: level i's convs every 2^i samples, its down- and upsampling
    /// layers every 2^(i+1), the bottleneck once a cycle, the input and output
    /// convs every sample (level 0's first down conv, when folded, as its
    /// 2K-1 table rows).
    public var weightReads: [WeightReads] {
        var bytesByPeriod: [Int: Double] = [:]
        bytesByPeriod[1] = inputOutputBytesPerStep
            + foldDifference { Double($0.span * $0.rows * MemoryLayout<Float>.size) - Double($1.weightBytes) }
        for i in 0..<(config.levels - 1) {
            bytesByPeriod[1 << i, default: 0] += Double((downConvs[i] + upConvs[i]).map(\.weightBytes).reduce(0, +))
            bytesByPeriod[2 << i, default: 0] += Double(downsampling[i].weightBytes + upsampling[i].weightBytes)
        }
        bytesByPeriod[config.cycles, default: 0] += Double(bottleneck.map(\.weightBytes).reduce(0, +))
        return bytesByPeriod.keys.sorted().map { WeightReads(periodSamples: $0, bytes: bytesByPeriod[$0]!) }
    }

    private func perStepAverage(_ cost: (GatedLayerWeights) -> Int) -> Double {
        var total = 0.0
        for i in 0..<(config.levels - 1) {
            let rate = 1.0 / Double(1 << i)
            total += rate * Double(downConvs[i].map(cost).reduce(0, +))
            total += rate / 2 * Double(cost(downsampling[i]))
            total += rate / 2 * Double(cost(upsampling[i]))
            total += rate * Double(upConvs[i].map(cost).reduce(0, +))
        }
        total += Double(bottleneck.map(cost).reduce(0, +)) / Double(config.cycles)
        return total
    }
}
