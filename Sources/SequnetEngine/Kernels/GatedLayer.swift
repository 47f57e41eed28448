import COpenBLAS
import Foundation

/// One gated residual layer, `out = identity + tanh(F·w + bf) * sigmoid(G·w + bg)`,
/// with filter F and gate G stacked into a single row-major matrix
/// `[2*outputs, inputs*taps]` whose columns are tap-major, oldest tap first, so
/// that it multiplies a ring buffer's contiguous window directly.
public struct GatedLayerWeights: @unchecked Sendable {
    /// `[2*outputs, columns]`: rows 0..<outputs are the filter, the rest the gate.
    public let matrix: FloatBuffer
    /// `[2*outputs]`: filter bias then gate bias.
    public let bias: FloatBuffer
    public let outputs: Int
    public let columns: Int

    public init(matrix: FloatBuffer, bias: FloatBuffer, outputs: Int, columns: Int) {
        precondition(matrix.count == 2 * outputs * columns && bias.count == 2 * outputs)
        self.matrix = matrix
        self.bias = bias
        self.outputs = outputs
        self.columns = columns
    }

    /// Multiply-adds per application.
    public var multiplyAdds: Int { 2 * outputs * columns }
    /// Bytes of weights read per application.
    public var weightBytes: Int { (matrix.count + bias.count) * MemoryLayout<Float>.size }
}

/// Row-major `y = M·x + y` for an `[rows, columns]` matrix, one BLAS call.
@inline(__always)
func multiplyAccumulate(_ m: UnsafePointer<Float>, rows: Int, columns: Int,
                        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(columns), 1, m, Int32(columns),
                x, 1, 1, y, 1)
}

@inline(__always)
func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

extension GatedLayerWeights {
    /// Applies the layer to `window` (`columns` floats) and writes
    /// `identity + tanh(filter) * sigmoid(gate)` to `output`, which may alias
    /// `identity`. `scratch` holds at least `2*outputs` floats.
    @inline(__always)
    func apply(window: UnsafePointer<Float>, identity: UnsafePointer<Float>,
               output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        scratch.update(from: bias.pointer, count: 2 * outputs)
        multiplyAccumulate(matrix.pointer, rows: 2 * outputs, columns: columns, window, into: scratch)
        gatedResidual(preActivation: scratch, outputs: outputs, identity: identity, output: output)
    }
}

/// `output[o] = identity[o] + tanh(pre[o]) * sigmoid(pre[outputs + o])`.
@inline(__always)
func gatedResidual(preActivation pre: UnsafePointer<Float>, outputs: Int,
                   identity: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
    for o in 0..<outputs {
        output[o] = identity[o] + tanhf(pre[o]) * sigmoid(pre[outputs + o])
    }
}

/// `y = M·x + y` over `columns` columns of a row-major matrix whose rows are
/// `stride` floats apart (a column block of a wider matrix).
@inline(__always)
func multiplyAccumulateColumns(_ m: UnsafePointer<Float>, rows: Int, columns: Int, stride: Int,
                               _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(columns), 1, m, Int32(stride),
                x, 1, 1, y, 1)
}
