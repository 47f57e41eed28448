/// How a `PackedMatrix` stores its elements.
///
/// Only fp32 exists today. Reduced precisions (bf16, int8 with per-row
/// scales) become further cases here and further storage in `PackedMatrix`;
/// the layers that multiply by a matrix do not change.
public enum MatrixPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    case fp32

    /// Bytes one stored weight takes.
    public var elementBytes: Int {
        switch self {
        case .fp32: return 4
        }
    }

    /// The stored element type, for people ("float32").
    public var elementType: String {
        switch self {
        case .fp32: return "float32"
        }
    }

    public var description: String { rawValue }
}

/// A weight matrix packed for the streaming step: `y[b] += W·x[b]` for a
/// batch of `b` input columns.
///
/// Rows are grouped in panels of `PackedMatrix.panel` (the last one
/// zero-padded), each panel stored column after column, so that a product
/// streams the weights once, front to back: for each panel, 32 running sums
/// stay in registers while every column adds `x[j]` times its 32 entries.
/// No horizontal sums, no second pass, nothing but loads and FMAs. With a
/// batch, each panel is read from memory once and then from cache for the
/// other columns of the batch.
///
/// The matrix owns its storage and its precision; every byte cost the
/// engine reports comes from here.
public struct PackedMatrix: @unchecked Sendable {
    /// Rows per panel: four 8-wide vectors (one AVX2 register each).
    public static let panel = 32

    public let rows: Int
    public let columns: Int
    public let precision: MatrixPrecision
    let storage: FloatBuffer

    /// Packs a row-major `[rows, columns]` matrix.
    public init(rowMajor source: UnsafePointer<Float>, rows: Int, columns: Int, precision: MatrixPrecision = .fp32) {
        self.rows = rows
        self.columns = columns
        self.precision = precision
        let p = Self.panel
        let panels = (rows + p - 1) / p
        storage = FloatBuffer(count: panels * columns * p)
        for r in 0..<rows {
            let (panelIndex, lane) = r.quotientAndRemainder(dividingBy: p)
            let base = panelIndex * columns * p + lane
            for c in 0..<columns { storage[base + c * p] = source[r * columns + c] }
        }
    }

    /// Packs a row-major array.
    public init(rowMajor values: [Float], rows: Int, columns: Int, precision: MatrixPrecision = .fp32) {
        precondition(values.count == rows * columns)
        self = values.withUnsafeBufferPointer {
            PackedMatrix(rowMajor: $0.baseAddress!, rows: rows, columns: columns, precision: precision)
        }
    }

    /// The matrix back in row-major order.
    public func rowMajor() -> [Float] {
        let p = Self.panel
        var out = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            let (panelIndex, lane) = r.quotientAndRemainder(dividingBy: p)
            let base = panelIndex * columns * p + lane
            for c in 0..<columns { out[r * columns + c] = storage[base + c * p] }
        }
        return out
    }

    /// Multiply-adds of one product with one input column.
    public var multiplyAdds: Int { rows * columns }

    /// Weight bytes one product reads (the last panel's padding aside).
    public var bytesPerProduct: Int { rows * columns * precision.elementBytes }

    /// Bytes held, including the padding of the last panel.
    public var storageBytes: Int { storage.count * precision.elementBytes }

    /// A borrowed view for the hot path (see `PackedMatrixView`).
    var view: PackedMatrixView { PackedMatrixView(elements: UnsafeRawPointer(storage.pointer), rows: rows, columns: columns) }

    /// `y[b][0..<rows] += W·x[b]` for `batch` columns: column `b` of the input
    /// starts at `x + b * xStride`, of the output at `y + b * yStride`.
    public func multiplyAccumulate(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                   batch: Int = 1, xStride: Int = 0, yStride: Int = 0) {
        view.multiplyAccumulate(x, into: y, batch: batch, xStride: xStride, yStride: yStride)
    }
}

/// Raw pointers to a `PackedMatrix`'s storage, for the per-sample step: no
/// reference counting. The matrix it views lives in a model's weights, which
/// every stream state keeps alive.
struct PackedMatrixView {
    let elements: UnsafeRawPointer
    let rows: Int
    let columns: Int

    /// `y += W·x` for one column.
    @inline(__always)
    func multiplyAccumulate(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        panelProduct(x, split: columns, x, into: y)
    }

    /// `y += W·[x0[0..<split] ; x1[0..<columns-split]]`: the input may come in
    /// two pieces (a WaveNet layer's x[n-d] and x[n]) without being copied together.
    @inline(__always)
    func multiplyAccumulate(_ x0: UnsafePointer<Float>, split: Int, _ x1: UnsafePointer<Float>,
                            into y: UnsafeMutablePointer<Float>) {
        panelProduct(x0, split: split, x1, into: y)
    }

    /// `y[b] += W·x[b]` for `batch` columns at the given strides.
    @inline(__always)
    func multiplyAccumulate(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                            batch: Int, xStride: Int, yStride: Int) {
        multiplyAccumulate(x, stride: xStride, split: columns, x, stride: xStride, into: y, stride: yStride, batch: batch)
    }

    /// `y[b] += W·[x0[b][0..<split] ; x1[b][0..<columns-split]]` for `batch`
    /// columns, each operand's column b at `b * stride` floats from its start.
    /// Batch 1 is the single product, the same bytes.
    @inline(__always)
    func multiplyAccumulate(_ x0: UnsafePointer<Float>, stride x0Stride: Int, split: Int,
                            _ x1: UnsafePointer<Float>, stride x1Stride: Int,
                            into y: UnsafeMutablePointer<Float>, stride yStride: Int, batch: Int) {
        if batch == 1 { panelProduct(x0, split: split, x1, into: y); return }
        var panel = elements
        var row0 = 0
        while row0 < rows {
            // One panel (32 rows by `columns`) stays in cache across the batch.
            for b in 0..<batch {
                var acc = PanelAccumulators()
                acc.add(panel, columns: 0, split, x0 + b * x0Stride)
                if split < columns { acc.add(panel, columns: split, columns, x1 + b * x1Stride) }
                acc.store(into: y + b * yStride, row0: row0, rows: rows)
            }
            row0 += PackedMatrix.panel
            panel += columns * PackedMatrix.panel * 4
        }
    }

    @inline(__always)
    private func panelProduct(_ x0: UnsafePointer<Float>, split: Int, _ x1: UnsafePointer<Float>,
                              into y: UnsafeMutablePointer<Float>) {
        var panel = elements
        var row0 = 0
        while row0 < rows {
            var acc = PanelAccumulators()
            acc.add(panel, columns: 0, split, x0)
            if split < columns { acc.add(panel, columns: split, columns, x1) }
            acc.store(into: y, row0: row0, rows: rows)
            row0 += PackedMatrix.panel
            panel += columns * PackedMatrix.panel * 4
        }
    }
}

/// Eight running sums of a panel: two sets of four 8-wide vectors, so that
/// consecutive columns do not wait on each other's FMA.
struct PanelAccumulators {
    typealias V = SIMD8<Float>
    var a0 = V(), a1 = V(), a2 = V(), a3 = V()
    var b0 = V(), b1 = V(), b2 = V(), b3 = V()

    /// Adds columns `first..<end` of the panel at `raw`, column j times `x[j - first]`.
    @inline(__always)
    mutating func add(_ raw: UnsafeRawPointer, columns first: Int, _ end: Int, _ x: UnsafePointer<Float>) {
        var offset = first * PackedMatrix.panel * 4
        var j = 0
        let count = end - first
        while j + 1 < count {
            let xa = V(repeating: x[j]), xb = V(repeating: x[j + 1])
            a0.addProduct(xa, raw.loadUnaligned(fromByteOffset: offset, as: V.self))
            a1.addProduct(xa, raw.loadUnaligned(fromByteOffset: offset + 32, as: V.self))
            a2.addProduct(xa, raw.loadUnaligned(fromByteOffset: offset + 64, as: V.self))
            a3.addProduct(xa, raw.loadUnaligned(fromByteOffset: offset + 96, as: V.self))
            b0.addProduct(xb, raw.loadUnaligned(fromByteOffset: offset + 128, as: V.self))
            b1.addProduct(xb, raw.loadUnaligned(fromByteOffset: offset + 160, as: V.self))
            b2.addProduct(xb, raw.loadUnaligned(fromByteOffset: offset + 192, as: V.self))
            b3.addProduct(xb, raw.loadUnaligned(fromByteOffset: offset + 224, as: V.self))
            offset += 256
            j += 2
        }
        if j < count {
            let xa = V(repeating: x[j])
            a0.addProduct(xa, raw.loadUnaligned(fromByteOffset: offset, as: V.self))
            a1.addProduct(xa, raw.loadUnaligned(fromByteOffset: offset + 32, as: V.self))
            a2.addProduct(xa, raw.loadUnaligned(fromByteOffset: offset + 64, as: V.self))
            a3.addProduct(xa, raw.loadUnaligned(fromByteOffset: offset + 96, as: V.self))
        }
    }

    /// Adds the panel's 32 sums to `y[row0...]`, only the live rows of a padded last panel.
    @inline(__always)
    func store(into y: UnsafeMutablePointer<Float>, row0: Int, rows: Int) {
        typealias V = SIMD8<Float>
        let s0 = a0 + b0, s1 = a1 + b1, s2 = a2 + b2, s3 = a3 + b3
        let live = min(PackedMatrix.panel, rows - row0)
        if live == PackedMatrix.panel {
            let out = UnsafeMutableRawPointer(y + row0)
            out.storeBytes(of: out.loadUnaligned(as: V.self) + s0, as: V.self)
            (out + 32).storeBytes(of: (out + 32).loadUnaligned(as: V.self) + s1, as: V.self)
            (out + 64).storeBytes(of: (out + 64).loadUnaligned(as: V.self) + s2, as: V.self)
            (out + 96).storeBytes(of: (out + 96).loadUnaligned(as: V.self) + s3, as: V.self)
        } else {
            for lane in 0..<live {
                let v = lane < 8 ? s0[lane] : lane < 16 ? s1[lane - 8] : lane < 24 ? s2[lane - 16] : s3[lane - 24]
                y[row0 + lane] += v
            }
        }
    }
}
