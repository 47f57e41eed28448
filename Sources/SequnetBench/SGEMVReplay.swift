import COpenBLAS
import SequnetEngine

/// The floor any per-layer engine has to beat: the model's layer schedule
/// replayed as bare OpenBLAS sgemv calls on the same stacked weight matrices,
/// at the same clock ticks, with no activations, residuals or ring buffers.
public final class SGEMVReplay: @unchecked Sendable {
    /// One matrix-vector product: `[rows, columns]` row-major at `matrix`, run
    /// when the sample's highest ticking level is at least `level`.
    struct Product {
        let matrix: UnsafePointer<Float>
        let rows: Int
        let columns: Int
        let level: Int
    }

    public let model: Model
    let products: [Product]
    private let owned: [FloatBuffer]
    private let cycles: Int
    private let levels: Int
    private let input: FloatBuffer
    private let output: FloatBuffer
    private var phase = 0

    public init(model: Model) {
        self.model = model
        // Row-major copies of the engine's packed matrices, as sgemv wants them;
        // a product the engine folds away gets a stand-in of its shape.
        var owned: [FloatBuffer] = []
        let products = model.weights.schedule.map { scheduled -> Product in
            let copy = FloatBuffer(scheduled.matrix?.rowMajor()
                                   ?? [Float](repeating: 0.01, count: scheduled.rows * scheduled.columns))
            owned.append(copy)
            return Product(matrix: UnsafePointer(copy.pointer), rows: scheduled.rows, columns: scheduled.columns,
                           level: scheduled.level)
        }
        self.owned = owned
        self.products = products
        cycles = model.config.cycles
        levels = model.config.timeScales
        let widest = products.map { max($0.rows, $0.columns) }.max() ?? 1
        input = FloatBuffer(count: widest)
        output = FloatBuffer(count: widest)
        for i in 0..<widest { input[i] = Float(i % 7) * 0.01 }
    }

    /// Runs the products of one sample.
    @inline(__always)
    public func step() {
        let top = phase == 0 ? levels - 1 : phase.trailingZeroBitCount
        for p in products where p.level <= top {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(p.rows), Int32(p.columns), 1, p.matrix,
                        Int32(p.columns), input.pointer, 1, 0, output.pointer, 1)
        }
        phase += 1
        if phase == cycles { phase = 0 }
    }

    /// Bytes of weight matrices read per sample, averaged over a clock cycle.
    public var weightBytesPerSample: Double {
        products.reduce(0.0) { $0 + Double($1.rows * $1.columns * MemoryLayout<Float>.size) / Double(1 << $1.level) }
    }
}

/// Pins OpenBLAS to `threads` threads. Only the replay calls BLAS; one
/// thread keeps it a batch-1, one-core measurement like the engine's.
public func setBLASThreads(_ threads: Int) {
    openblas_set_num_threads(Int32(max(1, threads)))
}
