import COpenBLAS
import Foundation
import SequnetEngine

/// One matrix shape of a model, timed with the engine's panel kernel and with
/// OpenBLAS sgemv on the same weights, each in a hot loop (weights in cache
/// as far as they fit). It answers, shape by shape, which of the two a layer
/// of that shape should use.
public struct KernelTiming: Sendable, Encodable {
    public let rows: Int
    public let columns: Int
    /// Layers of the model with this shape.
    public let count: Int
    /// Median nanoseconds per matrix-vector product.
    public let panelNanos: Double
    public let sgemvNanos: Double

    /// How many times faster the panel kernel is than sgemv on this shape.
    public var panelSpeedup: Double { sgemvNanos / panelNanos }

    enum CodingKeys: String, CodingKey {
        case rows, columns, count = "layers", panelNanos = "panel_ns", sgemvNanos = "sgemv_ns"
    }
}

extension SGEMVReplay {
    /// Times every distinct matrix shape of the replayed schedule with both
    /// kernels: about `secondsPerShape` each, median of 5 runs.
    public func compareKernels(secondsPerShape: Double = 0.1) -> [KernelTiming] {
        var order: [Shape] = []
        var firstMatrix: [Shape: UnsafePointer<Float>] = [:]
        var counts: [Shape: Int] = [:]
        for p in products {
            let shape = Shape(rows: p.rows, columns: p.columns)
            if firstMatrix[shape] == nil { order.append(shape); firstMatrix[shape] = p.matrix }
            counts[shape, default: 0] += 1
        }
        return order.map { shape in
            let rowMajor = firstMatrix[shape]!
            let panel = PackedMatrix(rowMajor: rowMajor, rows: shape.rows, columns: shape.columns)
            let x = FloatBuffer(count: shape.columns), y = FloatBuffer(count: shape.rows)
            for j in 0..<shape.columns { x[j] = Float(j % 5) * 0.01 }
            // Calls per run: enough for the run to take secondsPerShape / 10 at 50 GB/s.
            let bytes = Double(shape.rows * shape.columns * MemoryLayout<Float>.size)
            let calls = max(16, Int(secondsPerShape / 10 * 50e9 / bytes))
            let panelNanos = Self.medianNanos(calls: calls) { panel.multiplyAccumulate(x.pointer, into: y.pointer) }
            let sgemvNanos = Self.medianNanos(calls: calls) {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(shape.rows), Int32(shape.columns), 1, rowMajor,
                            Int32(shape.columns), x.pointer, 1, 1, y.pointer, 1)
            }
            return KernelTiming(rows: shape.rows, columns: shape.columns, count: counts[shape]!,
                                panelNanos: panelNanos, sgemvNanos: sgemvNanos)
        }
    }

    struct Shape: Hashable {
        let rows: Int
        let columns: Int
    }

    /// Median over 5 runs (after one warm-up run) of nanoseconds per call.
    private static func medianNanos(calls: Int, _ body: () -> Void) -> Double {
        var perCall: [Double] = []
        for run in 0..<6 {
            let start = MonotonicClock.nanoseconds()
            for _ in 0..<calls { body() }
            let nanos = Double(MonotonicClock.nanoseconds() - start) / Double(calls)
            if run > 0 { perCall.append(nanos) }
        }
        return perCall.sorted()[perCall.count / 2]
    }
}
