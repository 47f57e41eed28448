/// One gated layer, `out = identity + tanh(F·w + bf) * sigmoid(G·w + bg)`,
/// with filter F and gate G in a single packed matrix whose columns are
/// tap-major, oldest tap first, so that it multiplies a ring buffer's
/// contiguous window directly.
///
/// Rows are interleaved by groups of 16 channels: each 32-row panel holds
/// the filter rows of 16 channels, then their gate rows (the last group
/// zero-padded). A panel's sums are then all its channels' activation needs,
/// so whichever thread computes a panel also applies the activation to its
/// channels (`GatedEpilogue`), and threads share a layer without a second
/// meeting. A layer may have more than one unit of outputs: the upsampling
/// layer's "now" and "next" vectors are two units, panel after panel.
public struct GatedLayerWeights: @unchecked Sendable {
    /// Channels per panel.
    static let group = PackedMatrix.panel / 2

    /// Panels of `[16 filter rows; 16 gate rows]`, unit after unit.
    public let matrix: PackedMatrix
    /// One bias per packed row (zero on padding rows).
    public let bias: FloatBuffer
    /// Gated outputs per unit.
    public let channels: Int
    /// Output vectors computed at once (1, or 2 for now-and-next upsampling).
    public let units: Int
    public var columns: Int { matrix.columns }

    /// Panels per unit.
    var groups: Int { (channels + Self.group - 1) / Self.group }

    /// Floats of pre-activation one stream needs for a layer of `units` x `channels`.
    static func preActivationFloats(channels: Int, units: Int = 1) -> Int {
        units * ((channels + group - 1) / group) * 2 * group
    }

    /// `stacked` is row-major `[units * 2 * channels, columns]`: per unit,
    /// its filter rows then its gate rows; `bias` likewise. Stored in `precision`.
    public init(stacked: [Float], bias: [Float], channels: Int, units: Int = 1, columns: Int,
                precision: MatrixPrecision = .fp32) {
        precondition(stacked.count == units * 2 * channels * columns && bias.count == units * 2 * channels)
        self.channels = channels
        self.units = units
        let order = Self.rowOrder(channels: channels, units: units)
        var packed = [Float](repeating: 0, count: order.count * columns)
        var packedBias = [Float](repeating: 0, count: order.count)
        for (row, source) in order.enumerated() where source >= 0 {
            packed.replaceSubrange((row * columns)..<((row + 1) * columns),
                                   with: stacked[(source * columns)..<((source + 1) * columns)])
            packedBias[row] = bias[source]
        }
        matrix = PackedMatrix(rowMajor: packed, rows: order.count, columns: columns, precision: precision)
        self.bias = FloatBuffer(packedBias)
    }

    /// For each packed row, the stacked row it holds (-1: padding).
    static func rowOrder(channels: Int, units: Int) -> [Int] {
        let groups = (channels + group - 1) / group
        var order: [Int] = []
        for unit in 0..<units {
            for g in 0..<groups {
                for half in 0..<2 {
                    for i in 0..<group {
                        let channel = g * group + i
                        order.append(channel < channels ? unit * 2 * channels + half * channels + channel : -1)
                    }
                }
            }
        }
        return order
    }

    /// The matrix and bias back in the stacked order of `init(stacked:)`.
    func stacked() -> (matrix: [Float], bias: [Float]) {
        let packed = matrix.rowMajor(), packedBias = bias.array, c = columns
        var out = [Float](repeating: 0, count: units * 2 * channels * c)
        var outBias = [Float](repeating: 0, count: units * 2 * channels)
        for (row, source) in Self.rowOrder(channels: channels, units: units).enumerated() where source >= 0 {
            out.replaceSubrange((source * c)..<((source + 1) * c), with: packed[(row * c)..<((row + 1) * c)])
            outBias[source] = packedBias[row]
        }
        return (out, outBias)
    }

    /// Multiply-adds per application (live rows only).
    public var multiplyAdds: Int { units * 2 * channels * columns }
    /// Bytes of weights read per application: the live rows (with int8's
    /// scales) and the fp32 bias.
    public var weightBytes: Int {
        let rows = units * 2 * channels
        return rows * columns * matrix.precision.elementBytes + rows * (matrix.precision == .int8 ? 8 : 4)
    }

    /// A borrowed, reference-count-free view for the hot path.
    var kernel: GatedKernel {
        GatedKernel(matrix: matrix.view, bias: UnsafePointer(bias.pointer), channels: channels, groups: groups)
    }
}

/// Raw pointers to one gated layer's weights. The owning `GatedLayerWeights`
/// lives in the model, which every stream state keeps alive.
struct GatedKernel {
    let matrix: PackedMatrixView
    let bias: UnsafePointer<Float>
    let channels: Int
    let groups: Int
    var columns: Int { matrix.columns }
    /// Floats of pre-activation per stream.
    var width: Int { matrix.panelCount * PackedMatrix.panel }

    /// Applies the layer to a batch: stream b's window (`columns` floats) at
    /// `window + b * windowStride`, and writes `identity + tanh(filter) *
    /// sigmoid(gate)` over `vectors` (`channels` floats per stream, one after
    /// another), which hold the identity on entry. `scratch` holds `width *
    /// batch` floats.
    @inline(__always)
    func apply(batch: Int, window: UnsafePointer<Float>, windowStride: Int,
               vectors: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, team: RowTeam?) {
        let epilogue = GatedEpilogue(channels: channels, groups: groups, identity: UnsafePointer(vectors),
                                     identityStride: channels, first: vectors, second: nil, outputStride: channels)
        matrix.multiply(window, plus: bias, into: scratch, batch: batch, xStride: windowStride, yStride: width,
                        epilogue: epilogue, team: team)
    }

    /// The upsampling layer (units "now" and "next", `channels` C each):
    /// computes, per stream, both fine-rate outputs of the newest coarse
    /// vector `identity[b]` from the window of coarse vectors. `identity`,
    /// `now` and `next` hold C floats per stream.
    @inline(__always)
    func applyUpsampling(batch: Int, window: UnsafePointer<Float>, windowStride: Int, identity: UnsafePointer<Float>,
                         now: UnsafeMutablePointer<Float>, next: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, team: RowTeam?) {
        let epilogue = GatedEpilogue(channels: channels, groups: groups, identity: identity, identityStride: channels,
                                     first: now, second: next, outputStride: channels)
        matrix.multiply(window, plus: bias, into: scratch, batch: batch, xStride: windowStride, yStride: width,
                        epilogue: epilogue, team: team)
    }

    /// Without a residual: `tanh(filter) * sigmoid(gate)` into `output`
    /// (`channels` floats per stream, `outputStride` apart). The window may
    /// come in two pieces, as `PackedMatrixView`'s split product takes it.
    @inline(__always)
    func applyWithoutResidual(batch: Int, _ x0: UnsafePointer<Float>, stride x0Stride: Int, split: Int,
                              _ x1: UnsafePointer<Float>, stride x1Stride: Int,
                              output: UnsafeMutablePointer<Float>, outputStride: Int,
                              scratch: UnsafeMutablePointer<Float>, team: RowTeam?) {
        let epilogue = GatedEpilogue(channels: channels, groups: groups, identity: nil, identityStride: 0,
                                     first: output, second: nil, outputStride: outputStride)
        let product = PanelJob(matrix: matrix, bias: bias, x0: x0, x0Stride: x0Stride, split: split, x1: x1,
                               x1Stride: x1Stride, y: scratch, yStride: width, batch: batch, epilogue: epilogue)
        if let team { team.run(product) } else { product.run(panels: 0..<matrix.panelCount) }
    }
}

/// What a gated layer does with a panel's sums once they are stored: the
/// activation (and residual) for the panel's 16 channels, for every stream
/// of the batch. Run by the thread that computed the panel.
struct GatedEpilogue {
    let channels: Int
    /// Panels per unit.
    let groups: Int
    /// The residual's identity (nil: no residual), `identityStride` floats per stream.
    let identity: UnsafePointer<Float>?
    let identityStride: Int
    /// Unit 0's and unit 1's outputs, `outputStride` floats per stream.
    let first: UnsafeMutablePointer<Float>
    let second: UnsafeMutablePointer<Float>?
    let outputStride: Int

    /// Every `groups`-th panel is narrow when the last group has 8 or fewer
    /// channels: the activation reads only their filter and gate rows (0..<8
    /// and 16..<24), so the product need not compute the rest (0: none).
    var narrowPanelEvery: Int {
        let last = channels - (groups - 1) * GatedLayerWeights.group
        return last <= GatedLayerWeights.group / 2 ? groups : 0
    }

    /// Runs the activation on `panels` of the pre-activations (with the
    /// kernel build `KernelPath.active` names).
    @inline(__always)
    func apply(preActivations pre: UnsafePointer<Float>, preStride: Int, batch: Int, panels: Range<Int>) {
        KernelPath.activeApplyGatedPanels(pre, preStride, batch, panels.lowerBound, panels.upperBound, groups, channels,
                                          identity, identityStride, first, second, outputStride)
    }
}

@inline(__always)
func relu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
    for i in 0..<count { y[i] = max(x[i], 0) }
}
