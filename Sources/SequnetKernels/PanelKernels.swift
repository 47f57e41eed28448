// The matrix-vector kernels of the streaming step, for every weight
// precision. These sources are compiled three times: as `SequnetKernels`
// for AVX2 with FMA (8-wide vectors), as `SequnetKernelsAVX512` for AVX-512
// (16-wide vectors, `SEQUNET_AVX512` defined) and as `SequnetKernelsVNNI`
// for AVX-512 with VNNI (`SEQUNET_VNNI` too); the engine picks one at run
// time from what the CPU reports.
//
// Every build does the same arithmetic in the same order: a 32-row panel is
// 4 eight-wide or 2 sixteen-wide vectors, but each row's sum is the same
// chain of fused multiply-adds (even columns into one running sum, odd
// columns into another, the two added at the end), so a given precision
// gives the same bytes on any path.
//
// fp32 and bf16 weights meet fp32 activations; bf16 is widened in registers
// by a 16-bit shift (exact). int8 weights meet 16-bit activation codes in
// integer arithmetic (IntegerPanels.swift).

import Builtin

#if SEQUNET_AVX512
public typealias Lanes = SIMD16<Float>
#else
public typealias Lanes = SIMD8<Float>
#endif

/// Asks the cache for the 64-byte line at `address` (x86 `prefetcht0`), without
/// waiting for it: LLVM's prefetch intrinsic, which Swift reaches only
/// through its Builtin module (`-enable-builtin-module`).
@inline(__always)
func prefetch(_ address: UnsafeRawPointer) {
    Builtin.int_prefetch_RawPointer(address._rawValue, Int32(0)._value, Int32(3)._value, Int32(1)._value)
}

/// Rows per panel, the unit a product is split into (and threads share out).
public var panelRows: Int { @inline(__always) get { 32 } }
/// Vectors per panel column (a computed constant, so the unused half folds away).
var parts: Int { @inline(__always) get { 32 / Lanes.scalarCount } }

/// How one stored element format becomes fp32 lanes.
protocol PanelElement {
    /// Bytes of one panel column (32 rows).
    static var columnBytes: Int { get }
    /// Lanes `part` of the panel column at `offset` bytes.
    static func load(_ raw: UnsafeRawPointer, _ offset: Int, part: Int) -> Lanes
    #if SEQUNET_AVX512
    /// Rows 0..<8 and 16..<24 of the panel column at `offset` bytes, in one
    /// vector: a narrow panel's live rows (see `multiplyPanels`).
    static func loadNarrow(_ raw: UnsafeRawPointer, _ offset: Int) -> Lanes
    #endif
}

private enum FP32: PanelElement {
    static var columnBytes: Int { panelRows * 4 }
    @inline(__always)
    static func load(_ raw: UnsafeRawPointer, _ offset: Int, part: Int) -> Lanes {
        raw.loadUnaligned(fromByteOffset: offset + part * Lanes.scalarCount * 4, as: Lanes.self)
    }
    #if SEQUNET_AVX512
    @inline(__always)
    static func loadNarrow(_ raw: UnsafeRawPointer, _ offset: Int) -> Lanes {
        Lanes(lowHalf: raw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self),
              highHalf: raw.loadUnaligned(fromByteOffset: offset + 64, as: SIMD8<Float>.self))
    }
    #endif
}

private enum BF16: PanelElement {
    static var columnBytes: Int { panelRows * 2 }
    @inline(__always)
    static func load(_ raw: UnsafeRawPointer, _ offset: Int, part: Int) -> Lanes {
        let at = offset + part * Lanes.scalarCount * 2
        #if SEQUNET_AVX512
        // Widened 8 at a time: the 16-wide conversion is not inlined.
        return Lanes(lowHalf: widen(raw.loadUnaligned(fromByteOffset: at, as: SIMD8<UInt16>.self)),
                     highHalf: widen(raw.loadUnaligned(fromByteOffset: at + 16, as: SIMD8<UInt16>.self)))
        #else
        return widen(raw.loadUnaligned(fromByteOffset: at, as: SIMD8<UInt16>.self))
        #endif
    }

    #if SEQUNET_AVX512
    @inline(__always)
    static func loadNarrow(_ raw: UnsafeRawPointer, _ offset: Int) -> Lanes {
        Lanes(lowHalf: widen(raw.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt16>.self)),
              highHalf: widen(raw.loadUnaligned(fromByteOffset: offset + 32, as: SIMD8<UInt16>.self)))
    }
    #endif

    /// bf16 bits to the float32 they are the top half of.
    @inline(__always)
    static func widen(_ halves: SIMD8<UInt16>) -> SIMD8<Float> {
        unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: halves) &<< 16, to: SIMD8<Float>.self)
    }
}

/// A panel's running sums: `even` over even columns, `odd` over odd ones, so
/// that consecutive columns do not wait on each other's multiply-add.
struct Sums {
    var even = (Lanes(), Lanes(), Lanes(), Lanes())
    var odd = (Lanes(), Lanes(), Lanes(), Lanes())

    @inline(__always)
    mutating func add<E: PanelElement>(_: E.Type, _ raw: UnsafeRawPointer, columns first: Int, _ end: Int,
                                       _ x: UnsafePointer<Float>) {
        var offset = first * E.columnBytes
        var j = 0
        let count = end - first
        while j + 1 < count {
            let xa = Lanes(repeating: x[j]), xb = Lanes(repeating: x[j + 1])
            let next = offset + E.columnBytes
            even.0.addProduct(xa, E.load(raw, offset, part: 0))
            even.1.addProduct(xa, E.load(raw, offset, part: 1))
            if parts == 4 {
                even.2.addProduct(xa, E.load(raw, offset, part: 2))
                even.3.addProduct(xa, E.load(raw, offset, part: 3))
            }
            odd.0.addProduct(xb, E.load(raw, next, part: 0))
            odd.1.addProduct(xb, E.load(raw, next, part: 1))
            if parts == 4 {
                odd.2.addProduct(xb, E.load(raw, next, part: 2))
                odd.3.addProduct(xb, E.load(raw, next, part: 3))
            }
            offset += 2 * E.columnBytes
            j += 2
        }
        if j < count {
            let xa = Lanes(repeating: x[j])
            even.0.addProduct(xa, E.load(raw, offset, part: 0))
            even.1.addProduct(xa, E.load(raw, offset, part: 1))
            if parts == 4 {
                even.2.addProduct(xa, E.load(raw, offset, part: 2))
                even.3.addProduct(xa, E.load(raw, offset, part: 3))
            }
        }
    }

    /// The sums times `factor` (an int8 product's activation scale; the odd sums are unused there).
    @inline(__always)
    mutating func scaleSums(by factor: Float) {
        even.0 *= factor
        even.1 *= factor
        if parts == 4 {
            even.2 *= factor
            even.3 *= factor
        }
    }

    /// `y[row0 + r] = base[r] + scale[r] * sum[r]` (scale 1 when nil) for the
    /// live rows, `base` being `bias` if given, else `y` itself.
    @inline(__always)
    func store(into y: UnsafeMutablePointer<Float>, row0: Int, rows: Int, scales: UnsafePointer<Float>?,
               bias: UnsafePointer<Float>?) {
        var s = (even.0 + odd.0, even.1 + odd.1, even.2 + odd.2, even.3 + odd.3)
        if let scales {
            let raw = UnsafeRawPointer(scales + row0), w = Lanes.scalarCount * 4
            s.0 *= raw.loadUnaligned(as: Lanes.self)
            s.1 *= raw.loadUnaligned(fromByteOffset: w, as: Lanes.self)
            if parts == 4 {
                s.2 *= raw.loadUnaligned(fromByteOffset: 2 * w, as: Lanes.self)
                s.3 *= raw.loadUnaligned(fromByteOffset: 3 * w, as: Lanes.self)
            }
        }
        let live = min(panelRows, rows - row0)
        let out = UnsafeMutableRawPointer(y + row0), w = Lanes.scalarCount * 4
        let base = bias.map { UnsafeRawPointer($0 + row0) } ?? UnsafeRawPointer(out)
        if live == panelRows {
            out.storeBytes(of: base.loadUnaligned(as: Lanes.self) + s.0, as: Lanes.self)
            (out + w).storeBytes(of: (base + w).loadUnaligned(as: Lanes.self) + s.1, as: Lanes.self)
            if parts == 4 {
                (out + 2 * w).storeBytes(of: (base + 2 * w).loadUnaligned(as: Lanes.self) + s.2, as: Lanes.self)
                (out + 3 * w).storeBytes(of: (base + 3 * w).loadUnaligned(as: Lanes.self) + s.3, as: Lanes.self)
            }
        } else {
            let first = bias.map { $0 + row0 } ?? UnsafePointer(y + row0)
            for lane in 0..<live {
                let part = lane / Lanes.scalarCount, i = lane % Lanes.scalarCount
                let v = part == 0 ? s.0[i] : part == 1 ? s.1[i] : part == 2 ? s.2[i] : s.3[i]
                y[row0 + lane] = first[lane] + v
            }
        }
    }
}

#if SEQUNET_AVX512
/// Four streams' running sums over one panel (two 16-wide vectors per
/// parity each): the batched product's inner block.
private struct SumsOfFour {
    var s0 = Sums(), s1 = Sums(), s2 = Sums(), s3 = Sums()

    /// Adds columns `first..<end`, stream k's column j times `x[k * stride + j - first]`,
    /// in exactly the order `Sums.add` takes for one stream.
    /// `touch`, if given, is prefetched one cache line (64 bytes) further
    /// every two columns, up to `touchEnd`: the next panel, fetched from
    /// memory while this one is multiplied from cache.
    @inline(__always)
    mutating func add<E: PanelElement>(_: E.Type, _ raw: UnsafeRawPointer, columns first: Int, _ end: Int,
                                       _ x: UnsafePointer<Float>, _ stride: Int,
                                       touch: UnsafeRawPointer? = nil, touchEnd: UnsafeRawPointer? = nil) {
        let x0 = x, x1 = x + stride, x2 = x + 2 * stride, x3 = x + 3 * stride
        var offset = first * E.columnBytes
        var j = 0
        let count = end - first
        var line = touch
        while j + 1 < count {
            if let at = line, at < touchEnd! {
                prefetch(at)
                line = at + 64
            }
            let next = offset + E.columnBytes
            let ea = E.load(raw, offset, part: 0), eb = E.load(raw, offset, part: 1)
            let oa = E.load(raw, next, part: 0), ob = E.load(raw, next, part: 1)
            @inline(__always)
            func step(_ sums: inout Sums, _ x: UnsafePointer<Float>) {
                let xa = Lanes(repeating: x[j]), xb = Lanes(repeating: x[j + 1])
                sums.even.0.addProduct(xa, ea)
                sums.even.1.addProduct(xa, eb)
                sums.odd.0.addProduct(xb, oa)
                sums.odd.1.addProduct(xb, ob)
            }
            step(&s0, x0); step(&s1, x1); step(&s2, x2); step(&s3, x3)
            offset += 2 * E.columnBytes
            j += 2
        }
        if j < count {
            let ea = E.load(raw, offset, part: 0), eb = E.load(raw, offset, part: 1)
            @inline(__always)
            func step(_ sums: inout Sums, _ x: UnsafePointer<Float>) {
                let xa = Lanes(repeating: x[j])
                sums.even.0.addProduct(xa, ea)
                sums.even.1.addProduct(xa, eb)
            }
            step(&s0, x0); step(&s1, x1); step(&s2, x2); step(&s3, x3)
        }
    }

    @inline(__always)
    func store(into y: UnsafeMutablePointer<Float>, _ yStride: Int, row0: Int, rows: Int,
               scales: UnsafePointer<Float>?, bias: UnsafePointer<Float>?) {
        s0.store(into: y, row0: row0, rows: rows, scales: scales, bias: bias)
        s1.store(into: y + yStride, row0: row0, rows: rows, scales: scales, bias: bias)
        s2.store(into: y + 2 * yStride, row0: row0, rows: rows, scales: scales, bias: bias)
        s3.store(into: y + 3 * yStride, row0: row0, rows: rows, scales: scales, bias: bias)
    }
}
/// Eight streams' running sums over a narrow panel: rows 0..<8 and 16..<24
/// in one vector per parity. Eight streams, so that sixteen independent
/// chains hide the multiply-add's latency, as `SumsOfFour`'s do.
private struct NarrowSumsOfEight {
    var even = (Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes())
    var odd = (Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes())

    /// Columns `0..<count`, stream k's column j times `x[k * stride + j]`,
    /// each row the chain `Sums.add` makes.
    @inline(__always)
    mutating func add<E: PanelElement>(_: E.Type, _ raw: UnsafeRawPointer, columns count: Int,
                                       _ x: UnsafePointer<Float>, _ stride: Int) {
        var offset = 0
        var j = 0
        while j + 1 < count {
            let e = E.loadNarrow(raw, offset), o = E.loadNarrow(raw, offset + E.columnBytes)
            var at = x + j
            @inline(__always)
            func step(_ even: inout Lanes, _ odd: inout Lanes) {
                even.addProduct(Lanes(repeating: at[0]), e)
                odd.addProduct(Lanes(repeating: at[1]), o)
                at += stride
            }
            step(&even.0, &odd.0); step(&even.1, &odd.1); step(&even.2, &odd.2); step(&even.3, &odd.3)
            step(&even.4, &odd.4); step(&even.5, &odd.5); step(&even.6, &odd.6); step(&even.7, &odd.7)
            offset += 2 * E.columnBytes
            j += 2
        }
        if j < count {
            let e = E.loadNarrow(raw, offset)
            var at = x + j
            @inline(__always)
            func step(_ even: inout Lanes) {
                even.addProduct(Lanes(repeating: at[0]), e)
                at += stride
            }
            step(&even.0); step(&even.1); step(&even.2); step(&even.3)
            step(&even.4); step(&even.5); step(&even.6); step(&even.7)
        }
    }

    /// Rows 0..<8 and 16..<24 of each stream's `y`, each `base + (even +
    /// odd)` as `Sums.store` computes it (`base`: `bias`, else `y`).
    @inline(__always)
    func store(into y: UnsafeMutablePointer<Float>, _ yStride: Int, row0: Int, bias: UnsafePointer<Float>?) {
        var k = 0
        @inline(__always)
        func store(_ even: Lanes, _ odd: Lanes) {
            let s = even + odd
            let out = UnsafeMutableRawPointer(y + k * yStride + row0)
            let base = bias.map { UnsafeRawPointer($0 + row0) } ?? UnsafeRawPointer(out)
            out.storeBytes(of: base.loadUnaligned(as: SIMD8<Float>.self) + s.lowHalf, as: SIMD8<Float>.self)
            (out + 64).storeBytes(of: (base + 64).loadUnaligned(as: SIMD8<Float>.self) + s.highHalf, as: SIMD8<Float>.self)
            k += 1
        }
        store(even.0, odd.0); store(even.1, odd.1); store(even.2, odd.2); store(even.3, odd.3)
        store(even.4, odd.4); store(even.5, odd.5); store(even.6, odd.6); store(even.7, odd.7)
    }
}
#endif

/// The weight formats, by the code `multiplyPanels` takes.
public enum PanelFormat {
    public static let fp32 = 0, bf16 = 1, int8 = 2
}

/// `y[b] += W·[x0[b][0..<split] ; x1[b][0..<columns-split]]` for `batch`
/// columns (or, given a `bias`, `y[b] = bias + W·...`), over the panels `firstPanel..<endPanel` of the packed matrix at
/// `elements` (panel after panel, each column after column, `panelRows`
/// entries per column, in `format`; `scales` holds int8's per-row scales).
/// Stream b's operands start `b * stride` floats after the first's.
/// If `narrowEvery` > 0, every panel p with `(p + 1) % narrowEvery == 0` is
/// narrow: only its rows 0..<8 and 16..<24 are needed (a gated layer's last
/// group of 8 or fewer channels), and the AVX-512 builds may leave its other
/// rows of `y` unwritten.
/// A plain function of plain arguments: every build exports the same one.
public func multiplyPanels(format: Int, elements: UnsafeRawPointer, scales: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                           rows: Int, columns: Int, firstPanel: Int, endPanel: Int,
                           x0: UnsafePointer<Float>, x0Stride: Int, split: Int,
                           x1: UnsafePointer<Float>, x1Stride: Int,
                           y: UnsafeMutablePointer<Float>, yStride: Int, batch: Int, narrowEvery: Int) {
    @inline(__always)
    func run<E: PanelElement>(_ e: E.Type) {
        let panelBytes = columns * E.columnBytes
        var panel = elements + firstPanel * panelBytes
        for p in firstPanel..<endPanel {
            let row0 = p * panelRows
            var b = 0
            #if SEQUNET_AVX512
            // Four streams at a time: each weight vector loaded (and widened)
            // once feeds four streams' sums, each stream's sums the same
            // chain of multiply-adds as alone. Needs 16 accumulators, which
            // AVX-512's 32 registers hold and AVX2's 16 do not.
            // With two or more groups, each also reads its share of the next
            // panel's cache lines, so that memory works while this panel's
            // groups compute from cache.
            let groups = batch / 4
            let touching = groups >= 2 && p + 1 < endPanel
            let share = touching ? (panelBytes + groups * 64 - 1) / (groups * 64) * 64 : 0
            // A narrow panel's 16 dead rows are skipped: half the work (one
            // vector per parity), for panels that are one whole column of
            // the product (no split) and need no scales.
            if narrowEvery > 0 && (p + 1) % narrowEvery == 0 && split == columns && scales == nil {
                while b + 8 <= batch {
                    var group = NarrowSumsOfEight()
                    group.add(e, panel, columns: columns, x0 + b * x0Stride, x0Stride)
                    group.store(into: y + b * yStride, yStride, row0: row0, bias: bias)
                    b += 8
                }
            }
            while b + 4 <= batch {
                var group = SumsOfFour()
                let from = touching ? panel + panelBytes + b / 4 * share : nil
                let to = touching ? Swift.min(from! + share, panel + 2 * panelBytes) : nil
                group.add(e, panel, columns: 0, split, x0 + b * x0Stride, x0Stride, touch: from, touchEnd: to)
                if split < columns {
                    let done = from.map { Swift.min($0 + (split / 2) * 64, to!) }
                    group.add(e, panel, columns: split, columns, x1 + b * x1Stride, x1Stride, touch: done, touchEnd: to)
                }
                group.store(into: y + b * yStride, yStride, row0: row0, rows: rows, scales: scales, bias: bias)
                b += 4
            }
            #endif
            while b < batch {
                defer { b += 1 }
                // One panel stays in cache across the batch.
                var sums = Sums()
                sums.add(e, panel, columns: 0, split, x0 + b * x0Stride)
                if split < columns { sums.add(e, panel, columns: split, columns, x1 + b * x1Stride) }
                sums.store(into: y + b * yStride, row0: row0, rows: rows, scales: scales, bias: bias)
            }
            panel += panelBytes
        }
    }
    switch format {
    case PanelFormat.bf16: run(BF16.self)
    case PanelFormat.int8:
        multiplyInt8Panels(elements: elements, scales: scales!, bias: bias, rows: rows, columns: columns,
                           firstPanel: firstPanel, endPanel: endPanel, x0: x0, x0Stride: x0Stride, split: split,
                           x1: x1, x1Stride: x1Stride, y: y, yStride: yStride, batch: batch)
    default: run(FP32.self)
    }
}
