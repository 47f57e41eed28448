import SequnetCheckpoint

/// A convolution run as one packed-matrix product over a window of its last
/// K inputs (oldest first, as `WindowRing` keeps them): `[outputs, K*inputs]`,
/// column `j*inputs + i` holding the reference's `W[o, i, j]`. Tap j of a
/// Conv1d multiplies the input K-1-j steps (times the dilation) before the
/// newest, which is window slot j. The plain Seq-U-Net and the TCN are built
/// from these; their inputs are dense vectors (a piano-roll frame, an
/// embedding), not one-hot classes.
final class DenseConvWeights: @unchecked Sendable {
    let matrix: PackedMatrix
    let bias: FloatBuffer
    let outputs: Int
    let inputs: Int
    let taps: Int

    /// A Conv1d's `[outputs, inputs, taps]` weight and its bias, packed in `precision`.
    init(conv weight: Tensor, bias: Tensor, precision: MatrixPrecision) {
        let (outputs, inputs, taps) = (weight.shape[0], weight.shape[1], weight.shape[2])
        (self.outputs, self.inputs, self.taps) = (outputs, inputs, taps)
        var rowMajor = [Float](repeating: 0, count: outputs * taps * inputs)
        for o in 0..<outputs {
            for i in 0..<inputs {
                for j in 0..<taps { rowMajor[o * taps * inputs + j * inputs + i] = weight.values[(o * inputs + i) * taps + j] }
            }
        }
        matrix = PackedMatrix(rowMajor: rowMajor, rows: outputs, columns: taps * inputs, precision: precision)
        self.bias = FloatBuffer(bias.values)
    }

    /// A matrix already in window layout.
    init(matrix: PackedMatrix, bias: [Float], inputs: Int, taps: Int) {
        self.matrix = matrix
        self.bias = FloatBuffer(bias)
        (outputs, self.inputs, self.taps) = (matrix.rows, inputs, taps)
    }

    /// The weight back in the reference's `[outputs, inputs, taps]` layout.
    func referenceWeight() -> [Float] {
        let rowMajor = matrix.rowMajor()
        var weight = [Float](repeating: 0, count: outputs * inputs * taps)
        for o in 0..<outputs {
            for i in 0..<inputs {
                for j in 0..<taps { weight[(o * inputs + i) * taps + j] = rowMajor[o * taps * inputs + j * inputs + i] }
            }
        }
        return weight
    }

    var kernel: DenseConvKernel { DenseConvKernel(matrix: matrix.view, bias: UnsafePointer(bias.pointer), outputs: outputs) }
    var multiplyAdds: Int { matrix.multiplyAdds }
    var weightBytes: Int { matrix.bytesPerProduct + outputs * MemoryLayout<Float>.size }
}

/// What a dense conv's output goes through.
enum DenseActivation {
    case none
    case relu
    /// `x` if x >= 0, else 0.01 x (nn.LeakyReLU's default slope).
    case leakyReLU
}

/// A `DenseConvWeights` borrowed for the hot path: raw pointers, no reference counting.
struct DenseConvKernel {
    let matrix: PackedMatrixView
    let bias: UnsafePointer<Float>
    let outputs: Int

    /// `y[b] = activation(bias + W·window[b])` for `batch` streams, stream b's
    /// window `b * windowStride` floats from `window`, its output `b * yStride` from `y`.
    @inline(__always)
    func apply(batch: Int, window: UnsafePointer<Float>, windowStride: Int, into y: UnsafeMutablePointer<Float>,
               yStride: Int, activation: DenseActivation, team: RowTeam?) {
        matrix.multiply(window, plus: bias, into: y, batch: batch, xStride: windowStride, yStride: yStride, team: team)
        switch activation {
        case .none: break
        case .relu:
            for b in 0..<batch { let v = y + b * yStride; for o in 0..<outputs { v[o] = max(v[o], 0) } }
        case .leakyReLU:
            for b in 0..<batch { leakyReLU(y + b * yStride, count: outputs) }
        }
    }
}

/// nn.LeakyReLU(0.01) in place.
@inline(__always)
func leakyReLU(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count where x[i] < 0 { x[i] *= 0.01 }
}

/// The last K inputs of a dilated causal conv (`x[n-(K-1)d], ..., x[n-d], x[n]`)
/// for a batch of streams, readable as one contiguous window per stream: d
/// `WindowRing`s, one per residue of the step count mod d, each holding every
/// d-th input. Only the ring of the current step is pushed and read.
struct DilatedWindowRing {
    let rings: UnsafeMutablePointer<WindowRing>
    let dilation: Int

    static func floats(dimension: Int, taps: Int, dilation: Int, streams: Int) -> Int {
        dilation * WindowRing.floats(dimension: dimension, taps: taps, streams: streams)
    }

    /// Carves its memory from `carve`; `deallocate` frees the ring headers.
    init(carve: (Int) -> UnsafeMutablePointer<Float>, dimension: Int, taps: Int, dilation: Int, streams: Int) {
        self.dilation = dilation
        rings = .allocate(capacity: dilation)
        for r in 0..<dilation {
            rings.advanced(by: r).initialize(to: WindowRing(
                base: carve(WindowRing.floats(dimension: dimension, taps: taps, streams: streams)),
                dimension: dimension, taps: taps, streams: streams))
        }
    }

    func deallocate() {
        rings.deinitialize(count: dilation)
        rings.deallocate()
    }

    func rewind() { for r in 0..<dilation { rings[r].rewind() } }

    /// Pushes step `time`'s vectors and returns its window (stream 0's; the others `streamStride` apart).
    @inline(__always)
    func push(_ vectors: UnsafePointer<Float>, stride: Int, time: Int) -> UnsafePointer<Float> {
        let r = time % dilation
        rings[r].push(vectors, stride: stride)
        return rings[r].window
    }

    var streamStride: Int { rings[0].streamStride }
}
