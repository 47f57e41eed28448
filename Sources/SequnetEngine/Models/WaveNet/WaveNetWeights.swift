import SequnetCheckpoint

/// A WaveNet's weights in step layouts. Immutable; shared by any number of
/// `WaveNetState`s.
public final class WaveNetWeights: NetworkWeights, @unchecked Sendable {
    public let config: WaveNetConfig

    /// The 1x1 start conv, `[classes][R]`: one column per class, read one per sample.
    let startTable: OneHotInputTable
    let startBias: FloatBuffer    // [R]
    /// Per layer `[2Dc, 2R]`: filter rows then gate rows; columns are the
    /// older tap x[n-d] (first R) then the newer x[n].
    let dilated: [GatedLayerWeights]
    /// Per layer `[R, Dc]` and `[R]`: the 1x1 residual conv.
    let residual: [PackedMatrix]
    let residualBias: [FloatBuffer]
    /// `[S, layers*Dc]`: every layer's skip conv side by side. The skip sum is
    /// linear, so it is one product over all layers' gated outputs at the end.
    let skipAll: PackedMatrix
    /// `[S]`: the sum of every layer's skip bias.
    let skipBiasSum: FloatBuffer
    /// Per layer `[S]`, kept only to export the state dict.
    let skipBiases: [[Float]]
    let end1: PackedMatrix, end1Bias: FloatBuffer   // [S, S], [S]
    let end2: PackedMatrix, end2Bias: FloatBuffer   // [classes, S], [classes]

    init(config: WaveNetConfig, reader: inout TensorReader) throws {
        self.config = config
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels
        let classes = config.classes, layers = config.layerCount

        let start = try reader.conv(config.startConv)
        startTable = OneHotInputTable(weight: start.weight)
        startBias = FloatBuffer(start.bias.values)

        var dilated: [GatedLayerWeights] = []
        var residual: [PackedMatrix] = [], residualBias: [FloatBuffer] = []
        var skipBiases: [[Float]] = []
        var skipAll = [Float](repeating: 0, count: s * layers * dc)
        var skipBiasSum = [Float](repeating: 0, count: s)
        for l in 0..<layers {
            let filter = try reader.conv(config.filterConv(l)), gate = try reader.conv(config.gateConv(l))
            dilated.append(GatedLayerWeights(stacking: GatedConvTensors(
                filter: filter.weight, filterBias: filter.bias, gate: gate.weight, gateBias: gate.bias),
                precision: reader.precision))
            let res = try reader.conv(config.residualConv(l))
            residual.append(PackedMatrix(rowMajor: res.weight.values, rows: r, columns: dc, precision: reader.precision))
            residualBias.append(FloatBuffer(res.bias.values))
            let skip = try reader.conv(config.skipConv(l))
            for o in 0..<s {
                for i in 0..<dc { skipAll[o * layers * dc + l * dc + i] = skip.weight.values[o * dc + i] }
                skipBiasSum[o] += skip.bias.values[o]
            }
            skipBiases.append(skip.bias.values)
        }
        self.dilated = dilated
        self.residual = residual
        self.residualBias = residualBias
        self.skipAll = PackedMatrix(rowMajor: skipAll, rows: s, columns: layers * dc, precision: reader.precision)
        self.skipBiasSum = FloatBuffer(skipBiasSum)
        self.skipBiases = skipBiases
        let e1 = try reader.conv(config.endConv1), e2 = try reader.conv(config.endConv2)
        end1 = PackedMatrix(rowMajor: e1.weight.values, rows: s, columns: s, precision: reader.precision)
        end1Bias = FloatBuffer(e1.bias.values)
        end2 = PackedMatrix(rowMajor: e2.weight.values, rows: classes, columns: s, precision: reader.precision.forOutputLayer)
        end2Bias = FloatBuffer(e2.bias.values)
        try reader.finish()
    }

    public var configuration: any ModelConfiguration { config }

    public func makeState(batch: Int, team: RowTeam?) -> any NetworkState {
        WaveNetState(weights: self, batch: batch, team: team)
    }

    public func exportTensors() -> StateDict {
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels
        let layers = config.layerCount
        var dict = StateDict(format: .safetensors)
        dict.put(config.startConv, weight: startTable.referenceWeight(), bias: startBias.array)
        let skipAll = self.skipAll.rowMajor()
        for l in 0..<layers {
            let t = dilated[l].unstacked(inputs: r, taps: 2)
            dict.put(config.filterConv(l), weight: t.filter.values, bias: t.filterBias.values)
            dict.put(config.gateConv(l), weight: t.gate.values, bias: t.gateBias.values)
            dict.put(config.residualConv(l), weight: residual[l].rowMajor(), bias: residualBias[l].array)
            var skip = [Float](repeating: 0, count: s * dc)
            for o in 0..<s { for i in 0..<dc { skip[o * dc + i] = skipAll[o * layers * dc + l * dc + i] } }
            dict.put(config.skipConv(l), weight: skip, bias: skipBiases[l])
        }
        dict.put(config.endConv1, weight: end1.rowMajor(), bias: end1Bias.array)
        dict.put(config.endConv2, weight: end2.rowMajor(), bias: end2Bias.array)
        return dict
    }

    // MARK: Cost

    /// As the reference computes it: per layer the stacked filter and gate,
    /// and the residual and skip convs stacked (a stand-in: the engine defers
    /// the skips to one product); then the two end convs.
    public var schedule: [ScheduledProduct] {
        let c = config
        return (0..<c.layerCount).flatMap { l in
            [ScheduledProduct(dilated[l], level: 0),
             ScheduledProduct(standInRows: c.residualChannels + c.skipChannels, columns: c.dilationChannels, level: 0)]
        } + [ScheduledProduct(end1, level: 0), ScheduledProduct(end2, level: 0)]
    }

    /// Multiply-adds per sample: every layer's dilated conv, the residual
    /// convs of all but the last layer (whose output nothing reads), one
    /// product for all skips, and the two end convs.
    public var multiplyAddsPerStep: Double {
        let residualProducts = residual.dropLast().reduce(0) { $0 + $1.multiplyAdds }
        return Double(config.residualChannels + dilated.reduce(0) { $0 + $1.multiplyAdds } + residualProducts
                      + skipAll.multiplyAdds + end1.multiplyAdds + end2.multiplyAdds)
    }

    /// Every weight a WaveNet reads, it reads at every sample: the start
    /// conv's column and bias, every layer (but the last one's residual conv),
    /// the skips and the end convs.
    public var weightReads: [WeightReads] {
        let float = MemoryLayout<Float>.size
        let r = config.residualChannels, s = config.skipChannels
        var bytes = 2 * r * float
        bytes += dilated.reduce(0) { $0 + $1.weightBytes }
        bytes += residual.dropLast().reduce(0) { $0 + $1.bytesPerProduct + r * float }
        bytes += skipAll.bytesPerProduct + s * float
        bytes += end1.bytesPerProduct + s * float + end2.bytesPerProduct + config.classes * float
        return [WeightReads(periodSamples: 1, bytes: Double(bytes))]
    }
}
