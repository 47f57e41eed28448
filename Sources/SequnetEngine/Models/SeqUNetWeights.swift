import SequnetCheckpoint

/// A Seq-U-Net's weights, rearranged once at load time into the layouts the
/// streaming step multiplies directly. Immutable and shared by any number of
/// `SeqUNetState`s.
public final class SeqUNetWeights: @unchecked Sendable {
    public let config: SeqUNetConfig

    /// `[K, classes, C]`: the input conv's tap-j column for each class, so that
    /// the conv over a one-hot window is a sum of K picked rows.
    let inputTable: FloatBuffer
    /// `[C]`
    let inputBias: FloatBuffer
    /// `[L-1][D]`: residual convs of down block i, each `[2C, K*C]`.
    let downConvs: [[GatedLayerWeights]]
    /// `[L-1]`: strided conv from level i to i+1, `[2C, K*C]`.
    let downsample: [GatedLayerWeights]
    /// `[D]`: residual convs at level L-1, `[2C, K*C]`.
    let bottleneck: [GatedLayerWeights]
    /// `[L-1]`: transposed conv from level i+1 to i, `[4C, ceil(K/2)*C]`.
    let upsample: [UpsamplingLayerWeights]
    /// `[L-1][D]`: residual convs of up block i over concat(c, up), `[2C, K*2C]`.
    let upConvs: [[GatedLayerWeights]]
    /// `[classes, C]`
    let outputMatrix: PanelMatrix
    /// `[classes]`
    let outputBias: FloatBuffer

    /// Builds the weights from a reference state dict, reading the
    /// hyper-parameters off the tensors and refusing anything missing, extra,
    /// misshapen or non-finite.
    public convenience init(stateDict: StateDict) throws {
        let config = try SeqUNetWeights.inferConfig(stateDict)
        try self.init(config: config, stateDict: stateDict)
    }

    /// Reads C, K, classes, L and D off the tensor names and shapes (SPEC.md).
    public static func inferConfig(_ dict: StateDict) throws -> SeqUNetConfig {
        guard let input = dict.tensors["input_conv.weight"]?.shape, input.count == 3 else {
            throw ModelLoadError.missingTensor("input_conv.weight")
        }
        let blocks = Set(dict.names.compactMap { name -> Int? in
            guard name.hasPrefix("downsampling_blocks.") else { return nil }
            return Int(name.split(separator: ".")[1])
        })
        let depth = Set(dict.names.compactMap { name -> Int? in
            guard name.hasPrefix("downsampling_blocks.0.convs.") else { return nil }
            return Int(name.split(separator: ".")[3])
        })
        let config = SeqUNetConfig(classes: input[1], features: input[0], levels: blocks.count + 1,
                                   depth: depth.count, kernelSize: input[2])
        guard config.kernelSize % 2 == 1, config.kernelSize >= 1 else {
            throw ModelLoadError.invalidHyperParameter("kernel size \(config.kernelSize) is not odd")
        }
        guard config.levels >= 2, config.levels <= 24 else {
            throw ModelLoadError.invalidHyperParameter("\(config.levels) levels (need 2...24)")
        }
        guard config.depth >= 1 else {
            throw ModelLoadError.invalidHyperParameter("down blocks hold no residual convs")
        }
        guard config.features >= 1, config.features <= 8192 else {
            throw ModelLoadError.invalidHyperParameter("\(config.features) features")
        }
        guard config.classes == 256 else {
            throw ModelLoadError.invalidHyperParameter("\(config.classes) classes; sequnet generates 8-bit mu-law (256 classes)")
        }
        return config
    }

    /// Builds the weights for `config`; every tensor must match it exactly.
    public init(config: SeqUNetConfig, stateDict: StateDict) throws {
        self.config = config
        var reader = TensorReader(stateDict)
        let c = config.features, k = config.kernelSize, classes = config.classes

        let inputWeight = try reader.take("input_conv.weight", shape: [c, classes, k])
        inputBias = FloatBuffer(try reader.take("input_conv.bias", shape: [c]).values)
        inputTable = FloatBuffer(count: k * classes * c)
        for o in 0..<c {
            for cls in 0..<classes {
                for j in 0..<k {
                    inputTable[(j * classes + cls) * c + o] = inputWeight.values[(o * classes + cls) * k + j]
                }
            }
        }

        func gated(_ prefix: String, inputs: Int) throws -> GatedLayerWeights {
            let f = try reader.take("\(prefix).filter.weight", shape: [c, inputs, k])
            let g = try reader.take("\(prefix).gate.weight", shape: [c, inputs, k])
            let fb = try reader.take("\(prefix).filter.bias", shape: [c])
            let gb = try reader.take("\(prefix).gate.bias", shape: [c])
            return GatedLayerWeights(filter: f, gate: g, filterBias: fb, gateBias: gb)
        }

        var downConvs: [[GatedLayerWeights]] = [], downsample: [GatedLayerWeights] = []
        var upsample: [UpsamplingLayerWeights] = [], upConvs: [[GatedLayerWeights]] = []
        for i in 0..<(config.levels - 1) {
            downConvs.append(try (0..<config.depth).map { try gated("downsampling_blocks.\(i).convs.\($0)", inputs: c) })
            downsample.append(try gated("downsampling_blocks.\(i).downconv", inputs: c))
            let prefix = "upsampling_blocks.\(i).upconv"
            upsample.append(UpsamplingLayerWeights(
                filter: try reader.take("\(prefix).filter.weight", shape: [c, c, k]),
                gate: try reader.take("\(prefix).gate.weight", shape: [c, c, k]),
                filterBias: try reader.take("\(prefix).filter.bias", shape: [c]),
                gateBias: try reader.take("\(prefix).gate.bias", shape: [c])))
            upConvs.append(try (0..<config.depth).map { try gated("upsampling_blocks.\(i).convs.\($0)", inputs: 2 * c) })
        }
        self.downConvs = downConvs
        self.downsample = downsample
        self.upsample = upsample
        self.upConvs = upConvs
        bottleneck = try (0..<config.depth).map { try gated("bottlenecks.\($0)", inputs: c) }

        outputMatrix = PanelMatrix(rowMajor: try reader.take("output_conv.1.weight", shape: [classes, c, 1]).values,
                                   rows: classes, columns: c)
        outputBias = FloatBuffer(try reader.take("output_conv.1.bias", shape: [classes]).values)
        try reader.finish()
    }

    /// The weights back in the reference's state-dict names and layouts.
    public func stateDict() -> StateDict {
        let c = config.features, k = config.kernelSize, classes = config.classes
        var dict = StateDict(format: .safetensors)
        var inputWeight = [Float](repeating: 0, count: c * classes * k)
        for o in 0..<c {
            for cls in 0..<classes {
                for j in 0..<k { inputWeight[(o * classes + cls) * k + j] = inputTable[(j * classes + cls) * c + o] }
            }
        }
        dict.set("input_conv.weight", Tensor(shape: [c, classes, k], values: inputWeight))
        dict.set("input_conv.bias", Tensor(shape: [c], values: inputBias.array))
        func put(_ prefix: String, _ layer: GatedLayerWeights, inputs: Int) {
            let t = layer.referenceTensors(inputs: inputs, taps: k)
            dict.set("\(prefix).filter.weight", t.filter)
            dict.set("\(prefix).filter.bias", t.filterBias)
            dict.set("\(prefix).gate.weight", t.gate)
            dict.set("\(prefix).gate.bias", t.gateBias)
        }
        for i in 0..<(config.levels - 1) {
            for j in 0..<config.depth { put("downsampling_blocks.\(i).convs.\(j)", downConvs[i][j], inputs: c) }
            put("downsampling_blocks.\(i).downconv", downsample[i], inputs: c)
        }
        for j in 0..<config.depth { put("bottlenecks.\(j)", bottleneck[j], inputs: c) }
        for i in 0..<(config.levels - 1) {
            let t = upsample[i].referenceTensors()
            dict.set("upsampling_blocks.\(i).upconv.filter.weight", t.filter)
            dict.set("upsampling_blocks.\(i).upconv.filter.bias", t.filterBias)
            dict.set("upsampling_blocks.\(i).upconv.gate.weight", t.gate)
            dict.set("upsampling_blocks.\(i).upconv.gate.bias", t.gateBias)
            for j in 0..<config.depth { put("upsampling_blocks.\(i).convs.\(j)", upConvs[i][j], inputs: 2 * c) }
        }
        dict.set("output_conv.1.weight", Tensor(shape: [classes, c, 1], values: outputMatrix.rowMajor()))
        dict.set("output_conv.1.bias", Tensor(shape: [classes], values: outputBias.array))
        return dict
    }

    /// Number of parameters, counted as the reference counts them.
    public var parameterCount: Int {
        let c = config.features, k = config.kernelSize, d = config.depth, l = config.levels
        let layer = 2 * (c * c * k + c)
        return (c * config.classes * k + c)
            + (l - 1) * (d + 1) * layer          // down convs + downconv
            + d * layer                           // bottleneck
            + (l - 1) * layer                     // upconv
            + (l - 1) * d * 2 * (2 * c * c * k + c) // up convs on 2C inputs
            + (config.classes * c + config.classes)
    }

    /// Multiply-adds per generated sample, averaged over a clock cycle
    /// (level i runs every 2^i samples; the upconv at every tick of level i+1).
    public var multiplyAddsPerSample: Double {
        perSampleAverage { $0.multiplyAdds } + Double(config.kernelSize * config.features + config.classes * config.features)
    }

    /// Weight bytes read per generated sample, averaged over a clock cycle.
    public var weightBytesPerSample: Double {
        perSampleAverage { $0.weightBytes } + inputOutputBytesPerSample
    }

    /// The input conv's K picked columns and bias, and the output conv, read every sample.
    private var inputOutputBytesPerSample: Double {
        Double((config.kernelSize + 1) * config.features + (config.classes + 1) * (config.features + 1)) * 4
    }

    /// Weight bytes read at each tick, grouped by how many samples lie between
    /// ticks: level i's convs every 2^i samples, its down- and upsampling
    /// layers every 2^(i+1), the bottleneck once a cycle, the input and output
    /// convs every sample.
    public var weightReads: [WeightReads] {
        var bytesByPeriod: [Int: Double] = [:]
        bytesByPeriod[1] = inputOutputBytesPerSample
        for i in 0..<(config.levels - 1) {
            bytesByPeriod[1 << i, default: 0] += Double((downConvs[i] + upConvs[i]).map(\.weightBytes).reduce(0, +))
            bytesByPeriod[2 << i, default: 0] += Double(downsample[i].weightBytes + upsample[i].layer.weightBytes)
        }
        bytesByPeriod[config.cycles, default: 0] += Double(bottleneck.map(\.weightBytes).reduce(0, +))
        return bytesByPeriod.keys.sorted().map { WeightReads(periodSamples: $0, bytes: bytesByPeriod[$0]!) }
    }

    private func perSampleAverage(_ cost: (GatedLayerWeights) -> Int) -> Double {
        var total = 0.0
        for i in 0..<(config.levels - 1) {
            let rate = 1.0 / Double(1 << i)
            total += rate * Double(downConvs[i].map(cost).reduce(0, +))
            total += rate / 2 * Double(cost(downsample[i]))
            total += rate / 2 * Double(cost(upsample[i].layer))
            total += rate * Double(upConvs[i].map(cost).reduce(0, +))
        }
        total += Double(bottleneck.map(cost).reduce(0, +)) / Double(config.cycles)
        return total
    }
}

extension GatedLayerWeights {
    /// Stacks a conv's filter and gate (`[out, in, K]` each) tap-major.
    init(filter: Tensor, gate: Tensor, filterBias: Tensor, gateBias: Tensor) {
        let out = filter.shape[0], inputs = filter.shape[1], k = filter.shape[2]
        let columns = inputs * k
        var matrix = [Float](repeating: 0, count: 2 * out * columns)
        for (half, w) in [filter, gate].enumerated() {
            for o in 0..<out {
                let row = (half * out + o) * columns
                for c in 0..<inputs {
                    for j in 0..<k { matrix[row + j * inputs + c] = w.values[(o * inputs + c) * k + j] }
                }
            }
        }
        self.init(rowMajor: matrix, bias: filterBias.values + gateBias.values, outputs: out, columns: columns)
    }

    /// The inverse of `init(filter:gate:...)`.
    func referenceTensors(inputs: Int, taps k: Int) -> (filter: Tensor, gate: Tensor, filterBias: Tensor, gateBias: Tensor) {
        let matrix = self.matrix.rowMajor()
        var halves: [[Float]] = [[], []]
        for half in 0..<2 {
            var w = [Float](repeating: 0, count: outputs * inputs * k)
            for o in 0..<outputs {
                let row = (half * outputs + o) * columns
                for c in 0..<inputs {
                    for j in 0..<k { w[(o * inputs + c) * k + j] = matrix[row + j * inputs + c] }
                }
            }
            halves[half] = w
        }
        let b = bias.array
        return (Tensor(shape: [outputs, inputs, k], values: halves[0]),
                Tensor(shape: [outputs, inputs, k], values: halves[1]),
                Tensor(shape: [outputs], values: Array(b[0..<outputs])),
                Tensor(shape: [outputs], values: Array(b[outputs...])))
    }
}

/// A transposed stride-2 gated residual layer in step form. It sees the last
/// `ceil(K/2)` coarse vectors and yields two fine vectors at once: "now" from
/// the even taps and "next" (used one fine tick later) from the odd taps.
/// Stored as one `[4C, ceil(K/2)*C]` matrix with rows
/// (now filter, now gate, next filter, next gate).
struct UpsamplingLayerWeights: @unchecked Sendable {
    /// The stacked matrix as a gated layer with `2C` "outputs" (now and next).
    let layer: GatedLayerWeights
    let features: Int
    let kernelSize: Int

    /// Number of coarse vectors in the window.
    var taps: Int { (kernelSize + 1) / 2 }

    /// `filter` and `gate` in ConvTranspose1d layout `[in, out, K]`.
    init(filter: Tensor, gate: Tensor, filterBias: Tensor, gateBias: Tensor) {
        let c = filter.shape[0], k = filter.shape[2], m = (k + 1) / 2
        features = c
        kernelSize = k
        let columns = m * c
        var matrix = [Float](repeating: 0, count: 4 * c * columns)
        for (half, w) in [filter, gate].enumerated() {
            for j in 0..<k {
                // Even taps make "now", odd taps "next"; tap 0 (and 1) multiply
                // the newest coarse vector, which is the last in the window.
                let rowBlock = (j % 2 == 0 ? 0 : 2) + half
                let q = m - 1 - j / 2
                for o in 0..<c {
                    let row = (rowBlock * c + o) * columns
                    for ci in 0..<c { matrix[row + q * c + ci] = w.values[(ci * c + o) * k + j] }
                }
            }
        }
        let bias = filterBias.values + gateBias.values
        layer = GatedLayerWeights(rowMajor: matrix, bias: bias + bias, outputs: 2 * c, columns: columns)
    }

    func referenceTensors() -> (filter: Tensor, gate: Tensor, filterBias: Tensor, gateBias: Tensor) {
        let c = features, k = kernelSize, m = taps, columns = m * c
        let matrix = layer.matrix.rowMajor()
        var halves: [[Float]] = [[], []]
        for half in 0..<2 {
            var w = [Float](repeating: 0, count: c * c * k)
            for j in 0..<k {
                let rowBlock = (j % 2 == 0 ? 0 : 2) + half
                let q = m - 1 - j / 2
                for o in 0..<c {
                    let row = (rowBlock * c + o) * columns
                    for ci in 0..<c { w[(ci * c + o) * k + j] = matrix[row + q * c + ci] }
                }
            }
            halves[half] = w
        }
        let b = layer.bias.array
        return (Tensor(shape: [c, c, k], values: halves[0]), Tensor(shape: [c, c, k], values: halves[1]),
                Tensor(shape: [c], values: Array(b[0..<c])), Tensor(shape: [c], values: Array(b[c..<(2 * c)])))
    }

    /// Computes now and next from the window of coarse vectors; `identity` is
    /// the newest coarse vector. `scratch` holds `4C` floats.
    @inline(__always)
    static func apply(_ kernel: GatedKernel, window: UnsafePointer<Float>, identity: UnsafePointer<Float>,
                      now: UnsafeMutablePointer<Float>, next: UnsafeMutablePointer<Float>,
                      scratch: UnsafeMutablePointer<Float>) {
        let c = kernel.outputs / 2
        scratch.update(from: kernel.bias, count: 4 * c)
        panelMatVec(kernel.matrix, rows: 4 * c, columns: kernel.columns, window, scratch)
        gatedResidual(preActivation: scratch, outputs: c, identity: identity, output: now)
        gatedResidual(preActivation: scratch + 2 * c, outputs: c, identity: identity, output: next)
    }
}
