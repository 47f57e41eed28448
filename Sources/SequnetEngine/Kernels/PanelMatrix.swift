import COpenBLAS

/// A matrix stored for batch-1 products: rows grouped in panels of
/// `PanelMatrix.panel` (zero-padded), each panel laid out column after column.
///
/// `y += M·x` then streams the weights once, front to back: for each panel,
/// 32 running sums stay in registers while every column adds `x[j]` times its
/// 32 entries. No horizontal sums, no second pass, nothing but loads and FMAs.
public struct PanelMatrix: @unchecked Sendable {
    /// Rows per panel: four 8-wide vectors (one AVX2 register each).
    public static let panel = 32

    public let rows: Int
    public let columns: Int
    let storage: FloatBuffer

    /// Packs a row-major `[rows, columns]` matrix.
    public init(rowMajor source: UnsafePointer<Float>, rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        let panels = (rows + Self.panel - 1) / Self.panel
        storage = FloatBuffer(count: panels * columns * Self.panel)
        let p = Self.panel
        for r in 0..<rows {
            let (panelIndex, lane) = r.quotientAndRemainder(dividingBy: p)
            let base = panelIndex * columns * p + lane
            for c in 0..<columns { storage[base + c * p] = source[r * columns + c] }
        }
    }

    /// `y[0..<rows] += M·x`.
    @inline(__always)
    public func multiplyAccumulate(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        panelMatVec(storage.pointer, rows: rows, columns: columns, x, y)
    }
}

/// The panel kernel: see `PanelMatrix`.
@inline(__always)
func panelMatVec(_ m: UnsafePointer<Float>, rows: Int, columns: Int,
                 _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    panelMatVec(m, rows: rows, columns: columns, x, split: columns, x, y)
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
        var offset = first * PanelMatrix.panel * 4
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
}

/// `y += M·[x0[0..<split] ; x1[0..<columns-split]]`: the input vector may come
/// in two pieces (a WaveNet layer's x[n-d] and x[n]) without being copied together.
@inline(__always)
func panelMatVec(_ m: UnsafePointer<Float>, rows: Int, columns: Int,
                 _ x0: UnsafePointer<Float>, split: Int, _ x1: UnsafePointer<Float>,
                 _ y: UnsafeMutablePointer<Float>) {
    typealias V = SIMD8<Float>
    let p = PanelMatrix.panel
    var panel = UnsafeRawPointer(m)
    var row0 = 0
    while row0 < rows {
        var acc = PanelAccumulators()
        acc.add(panel, columns: 0, split, x0)
        if split < columns { acc.add(panel, columns: split, columns, x1) }
        let s0 = acc.a0 + acc.b0, s1 = acc.a1 + acc.b1, s2 = acc.a2 + acc.b2, s3 = acc.a3 + acc.b3
        let live = min(p, rows - row0)
        if live == p {
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
        row0 += p
        panel += columns * p * 4
    }
}

extension PanelMatrix {
    /// Packs a row-major array.
    public init(rowMajor values: [Float], rows: Int, columns: Int) {
        precondition(values.count == rows * columns)
        self = values.withUnsafeBufferPointer { PanelMatrix(rowMajor: $0.baseAddress!, rows: rows, columns: columns) }
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

    /// Bytes held, including the padding of the last panel.
    public var storageBytes: Int { storage.count * MemoryLayout<Float>.size }
}
