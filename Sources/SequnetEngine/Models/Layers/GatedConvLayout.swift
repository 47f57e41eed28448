import SequnetCheckpoint

// How a reference gated conv (filter and gate, `[out, in, K]` each, or
// `[in, out, K]` transposed) becomes one stacked `GatedLayerWeights`, and
// back. Shared by every family with gated convolutions.

extension TensorReader {
    /// A gated conv (plain or transposed, per `spec.kind`) as one stacked layer.
    mutating func gated(_ spec: ConvSpec) throws -> GatedLayerWeights {
        let tensors = try gatedTensors(spec)
        switch spec.kind {
        case .gated: return GatedLayerWeights(stacking: tensors, precision: precision)
        case .gatedTransposed: return GatedLayerWeights(stackingUpsampling: tensors, precision: precision)
        case .plain, .transposed, .weightNormed: preconditionFailure("a plain conv is not gated")
        }
    }
}

extension StateDict {
    /// Stores a stacked gated layer back under `spec`'s names and layouts.
    mutating func put(_ spec: ConvSpec, _ layer: GatedLayerWeights) {
        switch spec.kind {
        case .gated: put(spec, layer.unstacked(inputs: spec.inputs, taps: spec.kernel))
        case .gatedTransposed: put(spec, layer.unstackedUpsampling(kernel: spec.kernel))
        case .plain, .transposed, .weightNormed: preconditionFailure("a plain conv is not gated")
        }
    }
}

extension GatedLayerWeights {
    /// Stacks a conv's filter and gate (`[out, in, K]` each) tap-major:
    /// column `j * in + c` is input channel c at tap j, oldest tap first.
    init(stacking t: GatedConvTensors, precision: MatrixPrecision) {
        let out = t.filter.shape[0], inputs = t.filter.shape[1], k = t.filter.shape[2]
        let layout = Self.stackedLayout(outputs: out, inputs: inputs, taps: k)
        self.init(stacked: Self.stack(t, layout, count: 2 * out * inputs * k),
                  bias: t.filterBias.values + t.gateBias.values, channels: out, columns: inputs * k, precision: precision)
    }

    /// The inverse of `init(stacking:)`.
    func unstacked(inputs: Int, taps k: Int) -> GatedConvTensors {
        let (filter, gate, b) = unstack(Self.stackedLayout(outputs: channels, inputs: inputs, taps: k))
        return GatedConvTensors(filter: Tensor(shape: [channels, inputs, k], values: filter),
                                filterBias: Tensor(shape: [channels], values: Array(b[0..<channels])),
                                gate: Tensor(shape: [channels, inputs, k], values: gate),
                                gateBias: Tensor(shape: [channels], values: Array(b[channels..<(2 * channels)])))
    }

    /// A stride-2 transposed gated conv (`[C, C, K]`, ConvTranspose1d layout)
    /// as one layer over the last ceil(K/2) coarse vectors with `2C` outputs:
    /// rows `[now filter; now gate; next filter; next gate]`. Even taps make
    /// "now" (the fine step where the coarse vector arrives), odd taps "next"
    /// (the step after); taps 0 and 1 multiply the newest coarse vector, the
    /// last in the window. Its bias is the conv's, once for each half.
    init(stackingUpsampling t: GatedConvTensors, precision: MatrixPrecision) {
        let c = t.filter.shape[0], k = t.filter.shape[2], m = (k + 1) / 2
        let layout = Self.upsamplingLayout(channels: c, taps: k)
        let bias = t.filterBias.values + t.gateBias.values
        self.init(stacked: Self.stack(t, layout, count: 4 * c * m * c), bias: bias + bias, channels: c, units: 2,
                  columns: m * c, precision: precision)
    }

    /// The inverse of `init(stackingUpsampling:)`.
    func unstackedUpsampling(kernel k: Int) -> GatedConvTensors {
        let c = channels
        let (filter, gate, b) = unstack(Self.upsamplingLayout(channels: c, taps: k))
        return GatedConvTensors(filter: Tensor(shape: [c, c, k], values: filter),
                                filterBias: Tensor(shape: [c], values: Array(b[0..<c])),
                                gate: Tensor(shape: [c, c, k], values: gate),
                                gateBias: Tensor(shape: [c], values: Array(b[c..<(2 * c)])))
    }

    /// Where each weight goes: (half, index in the reference tensor, index in
    /// the stacked row-major matrix), half 0 the filter and 1 the gate.
    private typealias Layout = [(half: Int, reference: Int, stacked: Int)]

    private static func stackedLayout(outputs out: Int, inputs: Int, taps k: Int) -> Layout {
        var layout: Layout = []
        layout.reserveCapacity(2 * out * inputs * k)
        for half in 0..<2 {
            for o in 0..<out {
                for c in 0..<inputs {
                    for j in 0..<k {
                        layout.append((half, (o * inputs + c) * k + j, (half * out + o) * inputs * k + j * inputs + c))
                    }
                }
            }
        }
        return layout
    }

    private static func upsamplingLayout(channels c: Int, taps k: Int) -> Layout {
        let m = (k + 1) / 2
        var layout: Layout = []
        layout.reserveCapacity(2 * c * c * k)
        for half in 0..<2 {
            for j in 0..<k {
                let rowBlock = (j % 2 == 0 ? 0 : 2) + half, q = m - 1 - j / 2
                for o in 0..<c {
                    for ci in 0..<c { layout.append((half, (ci * c + o) * k + j, (rowBlock * c + o) * m * c + q * c + ci)) }
                }
            }
        }
        return layout
    }

    private static func stack(_ t: GatedConvTensors, _ layout: Layout, count: Int) -> [Float] {
        var matrix = [Float](repeating: 0, count: count)
        for entry in layout { matrix[entry.stacked] = (entry.half == 0 ? t.filter : t.gate).values[entry.reference] }
        return matrix
    }

    private func unstack(_ layout: Layout) -> (filter: [Float], gate: [Float], bias: [Float]) {
        let (matrix, bias) = stacked()
        var halves = [[Float]](repeating: [Float](repeating: 0, count: layout.count / 2), count: 2)
        for entry in layout { halves[entry.half][entry.reference] = matrix[entry.stacked] }
        return (halves[0], halves[1], bias)
    }
}
