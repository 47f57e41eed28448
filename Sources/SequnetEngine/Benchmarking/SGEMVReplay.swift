import COpenBLAS

/// The floor any per-layer engine has to beat: the model's layer schedule
/// replayed as bare OpenBLAS sgemv calls on the same stacked weight matrices,
/// at the same clock ticks, with no activations, residuals or ring buffers.
public final class SGEMVReplay: @unchecked Sendable {
    /// One matrix-vector product: `[rows, columns]` at `matrix`, run when the
    /// sample's highest ticking level is at least `level`.
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
        var products: [Product] = []
        var owned: [FloatBuffer] = []
        // Row-major copies of the engine's (panel-packed) matrices, as sgemv wants them.
        func add(_ m: PanelMatrix, level: Int) {
            let copy = FloatBuffer(m.rowMajor())
            owned.append(copy)
            products.append(Product(matrix: UnsafePointer(copy.pointer), rows: m.rows, columns: m.columns, level: level))
        }
        switch model.weights {
        case .seqUNet(let w):
            let l = w.config.levels
            for i in 0..<(l - 1) {
                for layer in w.downConvs[i] { add(layer.matrix, level: i) }
                add(w.downsample[i].matrix, level: i + 1)
            }
            for layer in w.bottleneck { add(layer.matrix, level: l - 1) }
            for i in stride(from: l - 2, through: 0, by: -1) {
                add(w.upsample[i].layer.matrix, level: i + 1)
                for layer in w.upConvs[i] { add(layer.matrix, level: i) }
            }
            add(w.outputMatrix, level: 0)
            cycles = w.config.cycles
            levels = l
        case .waveNet(let w):
            // The reference layout: per layer, stacked filter+gate and stacked residual+skip.
            let c = w.config
            for l in 0..<c.layerCount {
                add(w.dilated[l].matrix, level: 0)
                add(PanelMatrix(rowMajor: [Float](repeating: 0.01, count: (c.residualChannels + c.skipChannels) * c.dilationChannels),
                                rows: c.residualChannels + c.skipChannels, columns: c.dilationChannels), level: 0)
            }
            add(w.end1, level: 0)
            add(w.end2, level: 0)
            cycles = 1
            levels = 1
        }
        self.owned = owned
        self.products = products
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
        products.reduce(0.0) { $0 + Double($1.rows * $1.columns * 4) / Double(1 << $1.level) }
    }
}
