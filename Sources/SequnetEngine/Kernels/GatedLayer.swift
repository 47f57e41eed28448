/// One gated residual layer, `out = identity + tanh(F·w + bf) * sigmoid(G·w + bg)`,
/// with filter F and gate G stacked into a single `[2*outputs, columns]`
/// matrix whose columns are tap-major, oldest tap first, so that it multiplies
/// a ring buffer's contiguous window directly. Stored packed (`PackedMatrix`),
/// whose panel kernel beat OpenBLAS sgemv on every layer shape we measured
/// but one (see README, "Kernel by shape").
public struct GatedLayerWeights: @unchecked Sendable {
    /// `[2*outputs, columns]`: rows 0..<outputs are the filter, the rest the gate.
    public let matrix: PackedMatrix
    /// `[2*outputs]`: filter bias then gate bias.
    public let bias: FloatBuffer
    public let outputs: Int
    public var columns: Int { matrix.columns }

    /// `rowMajor` is `[2*outputs, columns]`, stored in `precision`.
    public init(rowMajor: [Float], bias: [Float], outputs: Int, columns: Int, precision: MatrixPrecision = .fp32) {
        precondition(rowMajor.count == 2 * outputs * columns && bias.count == 2 * outputs)
        matrix = PackedMatrix(rowMajor: rowMajor, rows: 2 * outputs, columns: columns, precision: precision)
        self.bias = FloatBuffer(bias)
        self.outputs = outputs
    }

    /// Multiply-adds per application.
    public var multiplyAdds: Int { matrix.multiplyAdds }
    /// Bytes of weights read per application: the matrix and the (fp32) bias.
    public var weightBytes: Int { matrix.bytesPerProduct + bias.count * MemoryLayout<Float>.size }

    /// A borrowed, reference-count-free view for the hot path.
    var kernel: GatedKernel {
        GatedKernel(matrix: matrix.view, bias: UnsafePointer(bias.pointer), outputs: outputs)
    }
}

/// Raw pointers to one gated layer's weights. The owning `GatedLayerWeights`
/// lives in the model, which every stream state keeps alive.
struct GatedKernel {
    let matrix: PackedMatrixView
    let bias: UnsafePointer<Float>
    let outputs: Int
    var columns: Int { matrix.columns }

    /// Applies the layer to a batch: stream b's window (`columns` floats) at
    /// `window + b * windowStride`, and writes `identity + tanh(filter) *
    /// sigmoid(gate)` over `vectors` (`outputs` floats per stream, one after
    /// another), which hold the identity on entry. `scratch` holds
    /// `2 * outputs * batch` floats.
    @inline(__always)
    func apply(batch: Int, window: UnsafePointer<Float>, windowStride: Int,
               vectors: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, team: RowTeam?) {
        let width = 2 * outputs
        matrix.multiply(window, plus: bias, into: scratch, batch: batch, xStride: windowStride, yStride: width, team: team)
        for b in 0..<batch {
            let v = vectors + b * outputs
            gatedResidual(preActivation: scratch + b * width, outputs: outputs, identity: v, output: v)
        }
    }

    /// A transposed stride-2 gated layer packed as `[now filter; now gate;
    /// next filter; next gate]` (`outputs` is 2C): computes, per stream, both
    /// fine-rate outputs of the newest coarse vector `identity[b]` from the
    /// window of coarse vectors. `identity`, `now` and `next` hold C floats
    /// per stream; `scratch` holds `4C * batch` floats.
    @inline(__always)
    func applyUpsampling(batch: Int, window: UnsafePointer<Float>, windowStride: Int, identity: UnsafePointer<Float>,
                         now: UnsafeMutablePointer<Float>, next: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, team: RowTeam?) {
        let c = outputs / 2, width = 4 * c
        matrix.multiply(window, plus: bias, into: scratch, batch: batch, xStride: windowStride, yStride: width, team: team)
        for b in 0..<batch {
            let pre = scratch + b * width
            gatedResidual(preActivation: pre, outputs: c, identity: identity + b * c, output: now + b * c)
            gatedResidual(preActivation: pre + 2 * c, outputs: c, identity: identity + b * c, output: next + b * c)
        }
    }
}

/// `output[o] = identity[o] + tanh(pre[o]) * sigmoid(pre[outputs + o])`:
/// the gated activation and the residual after it, fused in one pass.
@inline(__always)
func gatedResidual(preActivation pre: UnsafePointer<Float>, outputs: Int,
                   identity: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
    let f = UnsafeRawPointer(pre), g = UnsafeRawPointer(pre + outputs)
    let id = UnsafeRawPointer(identity), out = UnsafeMutableRawPointer(output)
    var o = 0
    while o + 8 <= outputs {
        let bytes = o * 4
        let v = vgated(f.loadUnaligned(fromByteOffset: bytes, as: Vec8.self),
                       g.loadUnaligned(fromByteOffset: bytes, as: Vec8.self),
                       id.loadUnaligned(fromByteOffset: bytes, as: Vec8.self))
        out.storeBytes(of: v, toByteOffset: bytes, as: Vec8.self)
        o += 8
    }
    if o < outputs {
        // The ragged end goes through the same vector code on a padded copy,
        // so every element is computed the same way.
        var fv = Vec8(), gv = Vec8(), iv = Vec8()
        for lane in 0..<(outputs - o) {
            fv[lane] = pre[o + lane]; gv[lane] = pre[outputs + o + lane]; iv[lane] = identity[o + lane]
        }
        let v = vgated(fv, gv, iv)
        for lane in 0..<(outputs - o) { output[o + lane] = v[lane] }
    }
}

@inline(__always)
func relu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
    for i in 0..<count { y[i] = max(x[i], 0) }
}

/// `output[o] = tanh(pre[o]) * sigmoid(pre[outputs + o])`, without a residual.
@inline(__always)
func gatedActivation(preActivation pre: UnsafePointer<Float>, outputs: Int, output: UnsafeMutablePointer<Float>) {
    let f = UnsafeRawPointer(pre), g = UnsafeRawPointer(pre + outputs)
    let out = UnsafeMutableRawPointer(output)
    var o = 0
    while o + 8 <= outputs {
        let bytes = o * 4
        let v = vgated(f.loadUnaligned(fromByteOffset: bytes, as: Vec8.self),
                       g.loadUnaligned(fromByteOffset: bytes, as: Vec8.self), Vec8())
        out.storeBytes(of: v, toByteOffset: bytes, as: Vec8.self)
        o += 8
    }
    if o < outputs {
        var fv = Vec8(), gv = Vec8()
        for lane in 0..<(outputs - o) { fv[lane] = pre[o + lane]; gv[lane] = pre[outputs + o + lane] }
        let v = vgated(fv, gv, Vec8())
        for lane in 0..<(outputs - o) { output[o + lane] = v[lane] }
    }
}
