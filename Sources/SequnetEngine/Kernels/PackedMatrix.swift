import SequnetKernels
#if arch(x86_64)
import SequnetKernelsAVX512
import SequnetKernelsVNNI
#endif

/// How a `PackedMatrix` stores its elements. fp32 and bf16 multiply against
/// fp32 activations and accumulate in fp32; int8 multiplies against the
/// input rounded to 16-bit codes (one scale per input vector) and sums in
/// int32, then scales to fp32.
public enum MatrixPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// float32: exact to the reference.
    case fp32
    /// bfloat16 weights (float32 with the low 16 mantissa bits rounded off).
    case bf16
    /// Symmetric int8 weights with one float32 scale per output row.
    case int8

    /// Bytes one stored weight takes.
    public var elementBytes: Int {
        switch self {
        case .fp32: return 4
        case .bf16: return 2
        case .int8: return 1
        }
    }

    /// The stored element type, for people ("float32").
    public var elementType: String {
        switch self {
        case .fp32: return "float32"
        case .bf16: return "bfloat16"
        case .int8: return "int8"
        }
    }

    public var description: String { rawValue }

    /// The precision named `name` ("fp32", "bf16", "int8"; any case), or nil.
    public init?(named name: String) { self.init(rawValue: name.lowercased()) }

    /// The precision of a network's output layer (the logits' own matrix)
    /// when the rest is in this one: int8 keeps it in bf16. Its rounding
    /// error goes straight into the logits: on the bundled Seq-U-Net, int8
    /// there costs 0.003 bits/sample more than bf16, for 1% of the bytes.
    public var forOutputLayer: MatrixPrecision { self == .int8 ? .bf16 : self }

    /// Every name, for messages: "fp32, bf16, int8".
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
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
/// other columns of the batch. Panels are also the unit threads share out
/// (`RowTeam`): each row's sum is computed the same way whoever computes it.
///
/// The matrix owns its storage and its precision; every byte cost the
/// engine reports comes from here.
public struct PackedMatrix: @unchecked Sendable {
    /// Rows per panel: four 8-wide vectors (one AVX2 register each).
    public static let panel = SequnetKernels.panelRows

    public let rows: Int
    public let columns: Int
    public let precision: MatrixPrecision
    let storage: ByteBuffer
    /// int8 only: one scale per row, padded to whole panels with zeros.
    let scales: FloatBuffer?

    /// Packs a row-major `[rows, columns]` matrix, rounding it to `precision`
    /// (bf16: to nearest even; int8: per row, `max |w| / 127` the scale).
    public init(rowMajor source: UnsafePointer<Float>, rows: Int, columns: Int, precision: MatrixPrecision = .fp32) {
        self.rows = rows
        self.columns = columns
        self.precision = precision
        let p = Self.panel
        let panels = (rows + p - 1) / p
        storage = ByteBuffer(count: panels * Self.storedColumns(columns, precision) * p * precision.elementBytes)
        var rowScales = [Float](repeating: 0, count: panels * p)
        for r in 0..<rows {
            let (panelIndex, lane) = r.quotientAndRemainder(dividingBy: p)
            let base = panelIndex * columns * p + lane
            let row = UnsafeBufferPointer(start: source + r * columns, count: columns)
            switch precision {
            case .fp32:
                let out = storage.pointer.assumingMemoryBound(to: Float.self)
                for c in 0..<columns { out[base + c * p] = row[c] }
            case .bf16:
                let out = storage.pointer.assumingMemoryBound(to: UInt16.self)
                for c in 0..<columns { out[base + c * p] = Quantisation.bfloat16Bits(row[c]) }
            case .int8:
                let out = storage.pointer.assumingMemoryBound(to: Int8.self)
                let scale = Quantisation.int8Scale(row)
                rowScales[r] = scale
                for c in 0..<columns { out[Self.int8Index(row: r, column: c, columns: columns)] = Quantisation.int8Code(row[c], scale: scale) }
            }
        }
        scales = precision == .int8 ? FloatBuffer(rowScales) : nil
    }

    /// Packs a row-major array.
    public init(rowMajor values: [Float], rows: Int, columns: Int, precision: MatrixPrecision = .fp32) {
        precondition(values.count == rows * columns)
        self = values.withUnsafeBufferPointer {
            PackedMatrix(rowMajor: $0.baseAddress!, rows: rows, columns: columns, precision: precision)
        }
    }

    /// Columns a panel stores: int8 pads to whole column pairs.
    static func storedColumns(_ columns: Int, _ precision: MatrixPrecision) -> Int {
        precision == .int8 ? (columns + 1) / 2 * 2 : columns
    }

    /// Where int8 code (row, column) lives: panels of 32 rows, each stored
    /// two columns at a time (64 bytes: row after row, both columns of a
    /// row side by side), the layout the 16-bit multiply-add instructions
    /// read (`SequnetKernels.int8PairBytes`).
    static func int8Index(row: Int, column: Int, columns: Int) -> Int {
        let (panelIndex, lane) = row.quotientAndRemainder(dividingBy: panel)
        let pairs = (columns + 1) / 2
        return (panelIndex * pairs + column / 2) * SequnetKernels.int8PairBytes + 2 * lane + column % 2
    }

    /// The matrix back in row-major order, as the product sees it (int8
    /// codes times their row's scale).
    public func rowMajor() -> [Float] {
        let p = Self.panel
        var out = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            let (panelIndex, lane) = r.quotientAndRemainder(dividingBy: p)
            let base = panelIndex * columns * p + lane
            for c in 0..<columns {
                out[r * columns + c] = element(precision == .int8 ? Self.int8Index(row: r, column: c, columns: columns)
                                                                  : base + c * p, row: r)
            }
        }
        return out
    }

    private func element(_ index: Int, row: Int) -> Float {
        switch precision {
        case .fp32: return storage.pointer.assumingMemoryBound(to: Float.self)[index]
        case .bf16: return Float(bitPattern: UInt32(storage.pointer.assumingMemoryBound(to: UInt16.self)[index]) << 16)
        case .int8: return Float(storage.pointer.assumingMemoryBound(to: Int8.self)[index]) * scales![row]
        }
    }

    /// Multiply-adds of one product with one input column.
    public var multiplyAdds: Int { rows * columns }

    /// Weight bytes one product reads (the last panel's padding aside), with int8's scales.
    public var bytesPerProduct: Int { rows * columns * precision.elementBytes + (scales == nil ? 0 : rows * 4) }

    /// Bytes held, including the padding of the last panel.
    public var storageBytes: Int { storage.count + (scales?.count ?? 0) * 4 }

    /// A borrowed view for the hot path (see `PackedMatrixView`).
    var view: PackedMatrixView {
        PackedMatrixView(format: precision.panelFormat, elements: UnsafeRawPointer(storage.pointer),
                         scales: scales.map { UnsafePointer($0.pointer) }, rows: rows, columns: columns)
    }

    /// `y[b][0..<rows] += W·x[b]` for `batch` columns: column `b` of the input
    /// starts at `x + b * xStride`, of the output at `y + b * yStride`.
    public func multiplyAccumulate(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                   batch: Int = 1, xStride: Int = 0, yStride: Int = 0) {
        view.multiplyAccumulate(x, into: y, batch: batch, xStride: xStride, yStride: yStride, team: nil)
    }
}

extension MatrixPrecision {
    var panelFormat: Int {
        switch self {
        case .fp32: return SequnetKernels.PanelFormat.fp32
        case .bf16: return SequnetKernels.PanelFormat.bf16
        case .int8: return SequnetKernels.PanelFormat.int8
        }
    }
}

/// Raw pointers to a `PackedMatrix`'s storage, for the per-sample step: no
/// reference counting. The matrix it views lives in a model's weights, which
/// every stream state keeps alive.
struct PackedMatrixView {
    let format: Int
    let elements: UnsafeRawPointer
    let scales: UnsafePointer<Float>?
    let rows: Int
    let columns: Int

    var panelCount: Int { (rows + PackedMatrix.panel - 1) / PackedMatrix.panel }

    /// `y[b] += W·x[b]` for `batch` columns at the given strides.
    @inline(__always)
    func multiplyAccumulate(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                            batch: Int, xStride: Int, yStride: Int, team: RowTeam?) {
        multiplyAccumulate(x, stride: xStride, split: columns, x, stride: xStride, into: y, stride: yStride,
                           batch: batch, team: team)
    }

    /// `y[b] = bias + W·x[b]` for `batch` columns: each thread adds the bias
    /// to its own rows as it stores them (the same sum as copying it first),
    /// then runs `epilogue`, if any, on its own panels.
    @inline(__always)
    func multiply(_ x: UnsafePointer<Float>, plus bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                  batch: Int, xStride: Int, yStride: Int, epilogue: GatedEpilogue? = nil, team: RowTeam?) {
        let product = PanelJob(matrix: self, bias: bias, x0: x, x0Stride: xStride, split: columns, x1: x, x1Stride: xStride,
                               y: y, yStride: yStride, batch: batch, epilogue: epilogue)
        if let team { team.run(product) } else { product.run(panels: 0..<panelCount) }
    }

    /// `y[b] += W·[x0[b][0..<split] ; x1[b][0..<columns-split]]` for `batch`
    /// columns, each operand's column b at `b * stride` floats from its start:
    /// the input may come in two pieces (a WaveNet layer's x[n-d] and x[n])
    /// without being copied together. With a team, its threads share the
    /// panels, each always the same ones.
    @inline(__always)
    func multiplyAccumulate(_ x0: UnsafePointer<Float>, stride x0Stride: Int, split: Int,
                            _ x1: UnsafePointer<Float>, stride x1Stride: Int,
                            into y: UnsafeMutablePointer<Float>, stride yStride: Int, batch: Int, team: RowTeam?) {
        let product = PanelJob(matrix: self, bias: nil, x0: x0, x0Stride: x0Stride, split: split, x1: x1, x1Stride: x1Stride,
                               y: y, yStride: yStride, batch: batch, epilogue: nil)
        if let team { team.run(product) } else { product.run(panels: 0..<panelCount) }
    }
}

/// One product, ready to run over any range of the matrix's panels.
struct PanelJob {
    let matrix: PackedMatrixView
    /// Added to each output instead of its previous value, if given.
    let bias: UnsafePointer<Float>?
    let x0: UnsafePointer<Float>
    let x0Stride: Int
    let split: Int
    let x1: UnsafePointer<Float>
    let x1Stride: Int
    let y: UnsafeMutablePointer<Float>
    let yStride: Int
    let batch: Int
    /// A gated layer's activation, run on each panel range after its product.
    let epilogue: GatedEpilogue?

    /// Computes the rows of `panels` (and their epilogue).
    @inline(__always)
    func run(panels: Range<Int>) {
        multiply(panels: panels)
        epilogue?.apply(preActivations: y, preStride: yStride, batch: batch, panels: panels)
    }

    /// The product for the rows of `panels`, with the kernels `KernelPath.active` names.
    @inline(__always)
    private func multiply(panels: Range<Int>) {
        let m = matrix
        KernelPath.activeMultiplyPanels(
            m.format, m.elements, m.scales, bias, m.rows, m.columns, panels.lowerBound, panels.upperBound,
            x0, x0Stride, split, x1, x1Stride, y, yStride, batch, epilogue?.narrowPanelEvery ?? 0)
    }
}

extension KernelPath {
    /// `multiplyPanels` of the kernel build `active` names, looked up once:
    /// every build exports the same function.
    static let activeMultiplyPanels: (Int, UnsafeRawPointer, UnsafePointer<Float>?, UnsafePointer<Float>?, Int, Int, Int, Int,
                                      UnsafePointer<Float>, Int, Int, UnsafePointer<Float>, Int,
                                      UnsafeMutablePointer<Float>, Int, Int, Int) -> Void = {
        #if arch(x86_64)
        switch active {
        case .avx512vnni: return SequnetKernelsVNNI.multiplyPanels
        case .avx512: return SequnetKernelsAVX512.multiplyPanels
        case .avx2: return SequnetKernels.multiplyPanels
        }
        #else
        return SequnetKernels.multiplyPanels
        #endif
    }()

    /// `applyGatedPanels` of the kernel build `active` names.
    static let activeApplyGatedPanels: (UnsafePointer<Float>, Int, Int, Int, Int, Int, Int, UnsafePointer<Float>?, Int,
                                        UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>?, Int) -> Void = {
        #if arch(x86_64)
        switch active {
        case .avx512vnni: return SequnetKernelsVNNI.applyGatedPanels
        case .avx512: return SequnetKernelsAVX512.applyGatedPanels
        case .avx2: return SequnetKernels.applyGatedPanels
        }
        #else
        return SequnetKernels.applyGatedPanels
        #endif
    }()
}
