import SequnetCheckpoint

/// A plain Seq-U-Net's weights in the layouts its step multiplies: every
/// conv as a window matrix (`DenseConvWeights`), each transposed conv as one
/// matrix that yields both of the upsampled vectors a tick of its lower level
/// needs. Immutable; shared by any number of states.
public final class PlainSeqUNetWeights: NetworkWeights, @unchecked Sendable {
    public let config: PlainSeqUNetConfig

    /// `[L-1]`: level i's conv, `[C_i, K*in_i]`.
    let levelConvs: [DenseConvWeights]
    /// `[L-1]`: the stride-2 conv from level i to i+1, `[C_i, K*C_i]`.
    let downsampling: [DenseConvWeights]
    /// `[C_{L-1}, K*C_{L-2}]`
    let bottleneck: DenseConvWeights
    /// `[L-1]`: the transposed conv from level i+1 to i, `[2*C_{i+1}, ceil(K/2)*C_{i+1}]`:
    /// rows 0..<C the output at the lower level's tick that coincides with
    /// the upper's (even taps), rows C..<2C the one a tick later (odd taps).
    let upsampling: [DenseConvWeights]
    /// `[L-1]`: level i's conv over concat(upsampled, shortcut), `[C_i, K*(C_{i+1}+C_i)]`.
    let upConvs: [DenseConvWeights]
    /// `[outputs, C_0]`
    let output: DenseConvWeights
    /// A language model's embedding and decoder (nil for music).
    let tokens: TokenLayers?

    init(config: PlainSeqUNetConfig, reader: inout TensorReader) throws {
        self.config = config
        let precision = reader.precision
        tokens = config.vocabulary > 0
            ? try TokenLayers(vocabulary: config.vocabulary, embedding: config.inputs, coreOutputs: config.outputs, reader: &reader)
            : nil
        func dense(_ spec: ConvSpec) throws -> DenseConvWeights {
            let (weight, bias) = try reader.conv(spec)
            return DenseConvWeights(conv: weight, bias: bias,
                                    precision: spec.isOutputLayer ? precision.forOutputLayer : precision)
        }
        let l = config.levels
        levelConvs = try (0..<(l - 1)).map { try dense(config.levelConv($0)) }
        downsampling = try (0..<(l - 1)).map { try dense(config.downsampling($0)) }
        upsampling = try (0..<(l - 1)).map { i in
            let (weight, bias) = try reader.conv(config.upsampling(i))
            return Self.stackedUpsampling(weight, bias: bias, taps: config.upsamplingTaps, precision: precision)
        }
        upConvs = try (0..<(l - 1)).map { try dense(config.upConv($0)) }
        bottleneck = try dense(config.bottleneck)
        output = try dense(config.outputConv)
        try reader.finish()
    }

    /// A ConvTranspose1d `[C, C, K]` (stride 2) as one window matrix over its
    /// last M = ceil(K/2) inputs u (oldest first; the newest is u_0): output
    /// `b + sum_m W[:, :, r+2m]^T u_m`, r = 0 in the first C rows and 1 in the
    /// second (taps past K-1 are zero).
    static func stackedUpsampling(_ weight: Tensor, bias: Tensor, taps m: Int, precision: MatrixPrecision) -> DenseConvWeights {
        let (inputs, outputs, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
        var rows = [Float](repeating: 0, count: 2 * outputs * m * inputs)
        for r in 0..<2 {
            for o in 0..<outputs {
                for slot in 0..<m {
                    let tap = r + 2 * (m - 1 - slot)
                    guard tap < k else { continue }
                    for c in 0..<inputs {
                        rows[(r * outputs + o) * m * inputs + slot * inputs + c] = weight.values[(c * outputs + o) * k + tap]
                    }
                }
            }
        }
        let matrix = PackedMatrix(rowMajor: rows, rows: 2 * outputs, columns: m * inputs, precision: precision)
        return DenseConvWeights(matrix: matrix, bias: bias.values + bias.values, inputs: inputs, taps: m)
    }

    /// The transposed conv's `[C, C, K]` weight back from its stacked matrix.
    private func referenceUpsampling(_ i: Int) -> [Float] {
        let layer = upsampling[i], m = layer.taps, c = layer.inputs, k = config.kernelSize
        let outputs = layer.outputs / 2, rows = layer.matrix.rowMajor()
        var weight = [Float](repeating: 0, count: c * outputs * k)
        for r in 0..<2 {
            for o in 0..<outputs {
                for slot in 0..<m {
                    let tap = r + 2 * (m - 1 - slot)
                    guard tap < k else { continue }
                    for ch in 0..<c { weight[(ch * outputs + o) * k + tap] = rows[(r * outputs + o) * m * c + slot * c + ch] }
                }
            }
        }
        return weight
    }

    public var configuration: any ModelConfiguration { config }

    public func makeState(batch: Int, team: RowTeam?) -> any NetworkState {
        PlainSeqUNetState(weights: self, batch: batch, team: team)
    }

    public func exportTensors() -> StateDict {
        var dict = StateDict(format: .safetensors)
        tokens?.exportEmbedding(into: &dict)
        for i in 0..<(config.levels - 1) {
            dict.put(config.levelConv(i), weight: levelConvs[i].referenceWeight(), bias: levelConvs[i].bias.array)
            dict.put(config.downsampling(i), weight: downsampling[i].referenceWeight(), bias: downsampling[i].bias.array)
        }
        for i in 0..<(config.levels - 1) {
            dict.put(config.upsampling(i), weight: referenceUpsampling(i),
                     bias: Array(upsampling[i].bias.array.prefix(upsampling[i].outputs / 2)))
            dict.put(config.upConv(i), weight: upConvs[i].referenceWeight(), bias: upConvs[i].bias.array)
        }
        dict.put(config.bottleneck, weight: bottleneck.referenceWeight(), bias: bottleneck.bias.array)
        dict.put(config.outputConv, weight: output.referenceWeight(), bias: output.bias.array)
        tokens?.exportDecoder(into: &dict)
        return dict
    }

    // MARK: Cost

    public var schedule: [ScheduledProduct] {
        let l = config.levels
        var products: [ScheduledProduct] = []
        for i in 0..<(l - 1) {
            products.append(ScheduledProduct(levelConvs[i].matrix, level: i))
            products.append(ScheduledProduct(downsampling[i].matrix, level: i + 1))
        }
        products.append(ScheduledProduct(bottleneck.matrix, level: l - 1))
        for i in stride(from: l - 2, through: 0, by: -1) {
            products.append(ScheduledProduct(upsampling[i].matrix, level: i + 1))
            products.append(ScheduledProduct(upConvs[i].matrix, level: i))
        }
        products.append(ScheduledProduct(output.matrix, level: 0))
        if let tokens { products.append(ScheduledProduct(tokens.decoder, level: 0)) }
        return products
    }

    public var multiplyAddsPerStep: Double {
        schedule.reduce(0) { $0 + Double($1.rows * $1.columns) / Double(1 << $1.level) }
    }

    public var weightReads: [WeightReads] {
        var bytesByPeriod: [Int: Double] = [:]
        for i in 0..<(config.levels - 1) {
            bytesByPeriod[1 << i, default: 0] += Double(levelConvs[i].weightBytes + upConvs[i].weightBytes)
            bytesByPeriod[2 << i, default: 0] += Double(downsampling[i].weightBytes + upsampling[i].weightBytes)
        }
        bytesByPeriod[config.cycles, default: 0] += Double(bottleneck.weightBytes)
        bytesByPeriod[1, default: 0] += Double(output.weightBytes + (tokens?.weightBytes ?? 0))
        return bytesByPeriod.keys.sorted().map { WeightReads(periodSamples: $0, bytes: bytesByPeriod[$0]!) }
    }
}
