import SequnetCheckpoint

// How a reference gated conv (filter and gate, `[out, in, K]` each, or
// `[in, out, K]` transposed) becomes one stacked `GatedLayerWeights`, and
// back. Shared by every family with gated convolutions.

extension TensorReader {
    /// A gated conv (plain or transposed, per `spec.kind`) as one stacked layer.
    mutating func gated(_ spec: ConvSpec) throws -> GatedLayerWeights {
        let tensors = try gatedTensors(spec)
        switch spec.kind {
        case .gated: return GatedLayerWeights(stacking: tensors)
        case .gatedTransposed: return GatedLayerWeights(stackingUpsampling: tensors)
        case .plain: preconditionFailure("a plain conv is not gated")
        }
    }
}

extension StateDict {
    /// Stores a stacked gated layer back under `spec`'s names and layouts.
    mutating func put(_ spec: ConvSpec, _ layer: GatedLayerWeights) {
        switch spec.kind {
        case .gated: put(spec, layer.unstacked(inputs: spec.inputs, taps: spec.kernel))
        case .gatedTransposed: put(spec, layer.unstackedUpsampling(kernel: spec.kernel))
        case .plain: preconditionFailure("a plain conv is not gated")
        }
    }
}

extension GatedLayerWeights {
    /// Stacks a conv's filter and gate (`[out, in, K]` each) tap-major:
    /// column `j * in + c` is input channel c at tap j, oldest tap first.
    init(stacking t: GatedConvTensors) {
        let out = t.filter.shape[0], inputs = t.filter.shape[1], k = t.filter.shape[2]
        let columns = inputs * k
        var matrix = [Float](repeating: 0, count: 2 * out * columns)
        for (half, w) in [t.filter, t.gate].enumerated() {
            for o in 0..<out {
                let row = (half * out + o) * columns
                for c in 0..<inputs {
                    for j in 0..<k { matrix[row + j * inputs + c] = w.values[(o * inputs + c) * k + j] }
                }
            }
        }
        self.init(rowMajor: matrix, bias: t.filterBias.values + t.gateBias.values, outputs: out, columns: columns)
    }

    /// The inverse of `init(stacking:)`.
    func unstacked(inputs: Int, taps k: Int) -> GatedConvTensors {
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
        return GatedConvTensors(filter: Tensor(shape: [outputs, inputs, k], values: halves[0]),
                                filterBias: Tensor(shape: [outputs], values: Array(b[0..<outputs])),
                                gate: Tensor(shape: [outputs, inputs, k], values: halves[1]),
                                gateBias: Tensor(shape: [outputs], values: Array(b[outputs...])))
    }

    /// A stride-2 transposed gated conv (`[C, C, K]`, ConvTranspose1d layout)
    /// as one layer over the last ceil(K/2) coarse vectors with `2C` outputs:
    /// rows `[now filter; now gate; next filter; next gate]`. Even taps make
    /// "now" (the fine step where the coarse vector arrives), odd taps "next"
    /// (the step after); taps 0 and 1 multiply the newest coarse vector, the
    /// last in the window. Its bias is the conv's, once for each half.
    init(stackingUpsampling t: GatedConvTensors) {
        let c = t.filter.shape[0], k = t.filter.shape[2], m = (k + 1) / 2
        let columns = m * c
        var matrix = [Float](repeating: 0, count: 4 * c * columns)
        for (half, w) in [t.filter, t.gate].enumerated() {
            for j in 0..<k {
                let rowBlock = (j % 2 == 0 ? 0 : 2) + half
                let q = m - 1 - j / 2
                for o in 0..<c {
                    let row = (rowBlock * c + o) * columns
                    for ci in 0..<c { matrix[row + q * c + ci] = w.values[(ci * c + o) * k + j] }
                }
            }
        }
        let bias = t.filterBias.values + t.gateBias.values
        self.init(rowMajor: matrix, bias: bias + bias, outputs: 2 * c, columns: columns)
    }

    /// The inverse of `init(stackingUpsampling:)`.
    func unstackedUpsampling(kernel k: Int) -> GatedConvTensors {
        let c = outputs / 2, m = (k + 1) / 2, columns = m * c
        let matrix = self.matrix.rowMajor()
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
        let b = bias.array
        return GatedConvTensors(filter: Tensor(shape: [c, c, k], values: halves[0]),
                                filterBias: Tensor(shape: [c], values: Array(b[0..<c])),
                                gate: Tensor(shape: [c, c, k], values: halves[1]),
                                gateBias: Tensor(shape: [c], values: Array(b[c..<(2 * c)])))
    }
}
