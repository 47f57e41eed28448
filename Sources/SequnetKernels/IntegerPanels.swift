// int8 weights against 16-bit activations, summed in int32: the int8
// precision's product. Compiled three times with the rest of the kernels
// (AVX2; AVX-512; AVX-512 with VNNI, `SEQUNET_VNNI`).
//
// Each stream's input vector is rounded to int16 codes on the fly with one
// scale of its own (its largest magnitude maps to `activationLimit`). A
// weight panel stores its 32 rows two columns at a time, so that one
// 16-bit multiply-add instruction takes both columns of a row into that
// row's int32 lane: `vpdpwssd` with VNNI (32 multiply-adds, accumulated),
// `vpmaddwd` and an add without it. Integer sums are exact whatever their
// order, so every build, thread split and batch gives the same int32 totals
// and then the same float arithmetic: the same bytes.
//
// Overflow is ruled out, not hoped against: a chunk of 1,024 columns sums
// at most 1,024 × 127 × 16,383 < 2^31 in magnitude, and a chunk's total goes
// into a float32 running sum before the next chunk starts.

import Builtin

#if SEQUNET_AVX512
/// A row-half's int32 sums (16 rows).
typealias IntLanes = SIMD16<Int32>
/// Int8 codes of 16 rows by two columns, row after row.
typealias CodePairs = SIMD32<Int8>
typealias WidePairs = SIMD32<Int16>
#else
typealias IntLanes = SIMD8<Int32>
typealias CodePairs = SIMD16<Int8>
typealias WidePairs = SIMD16<Int16>
#endif

/// The largest activation code: 1,024 × 127 × 16,383 < 2^31.
public var activationLimit: Float { @inline(__always) get { 16383 } }
/// Column pairs summed in int32 before the sum moves to float32.
private var pairsPerChunk: Int { @inline(__always) get { 512 } }
/// Bytes of one panel's column pair: 32 rows by 2 columns of int8.
public var int8PairBytes: Int { @inline(__always) get { 64 } }

// Vector conversions as single LLVM instructions: the generic SIMD
// initialisers convert element by element here.

/// Sign-extends int8 codes to 16 bits (`vpmovsxbw`).
@inline(__always)
private func widen(_ codes: CodePairs) -> WidePairs {
    var out = WidePairs()
    #if SEQUNET_AVX512
    out._storage._value = Builtin.sext_Vec32xInt8_Vec32xInt16(codes._storage._value)
    #else
    out._storage._value = Builtin.sext_Vec16xInt8_Vec16xInt16(codes._storage._value)
    #endif
    return out
}

/// int32 sums to float32, rounded to nearest (`vcvtdq2ps`).
@inline(__always)
private func floats(_ sums: IntLanes) -> Lanes {
    var out = Lanes()
    #if SEQUNET_AVX512
    out._storage._value = Builtin.sitofp_Vec16xInt32_Vec16xFPIEEE32(sums._storage._value)
    #else
    out._storage._value = Builtin.sitofp_Vec8xInt32_Vec8xFPIEEE32(sums._storage._value)
    #endif
    return out
}

/// Whole-valued floats within ±`activationLimit` to int16 codes.
@inline(__always)
private func int16Codes(_ v: SIMD16<Float>) -> SIMD16<Int16> {
    var out = SIMD16<Int16>()
    out._storage._value = Builtin.trunc_Vec16xInt32_Vec16xInt16(Builtin.fptosi_Vec16xFPIEEE32_Vec16xInt32(v._storage._value))
    return out
}

/// `acc + (for each row: w[row][0] * x.0 + w[row][1] * x.1)` for the rows of
/// `codes`, `xPair` holding the two activation codes (low half first).
@inline(__always)
private func addPairProducts(_ acc: IntLanes, _ codes: CodePairs, _ xPair: Int32) -> IntLanes {
    let wide = widen(codes)
    let x = IntLanes(repeating: xPair)
    var out = IntLanes()
    #if SEQUNET_VNNI
    out._storage._value = Builtin.int_x86_avx512_vpdpwssd_512(
        acc._storage._value, unsafeBitCast(wide, to: IntLanes.self)._storage._value, x._storage._value)
    return out
    #elseif SEQUNET_AVX512
    out._storage._value = Builtin.int_x86_avx512_pmaddw_d_512(
        wide._storage._value, unsafeBitCast(x, to: WidePairs.self)._storage._value)
    return acc &+ out
    #elseif arch(x86_64)
    out._storage._value = Builtin.int_x86_avx2_pmadd_wd(
        wide._storage._value, unsafeBitCast(x, to: WidePairs.self)._storage._value)
    return acc &+ out
    #else
    // Portable: the same pairwise products and sums, spelled out.
    let products = SIMD16<Int32>(truncatingIfNeeded: wide)
        &* SIMD16<Int32>(truncatingIfNeeded: unsafeBitCast(x, to: WidePairs.self))   // (not the hot path anywhere we ship)
    _ = out
    return acc &+ products.evenHalf &+ products.oddHalf
    #endif
}

/// Rounds one stream's input, `[x0[0..<split] ; x1[0..<columns-split]]`, to
/// int16 codes in `codes` (zero-padded to an even count) and returns the
/// scale that turns codes back into values.
@inline(__always)
private func quantiseActivations(_ x0: UnsafePointer<Float>, split: Int, _ x1: UnsafePointer<Float>, columns: Int,
                                 into codes: UnsafeMutablePointer<Int16>) -> Float {
    typealias V = SIMD16<Float>
    @inline(__always)
    func largestMagnitude(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
        // On magnitudes' bit patterns (sign cleared) integer order is float
        // order, and an integer maximum is one instruction (`vpmaxud`),
        // where a float one is not (Swift's keeps IEEE NaN rules, lane by
        // lane). A NaN's pattern is above infinity's: it wins and the
        // product comes out NaN, as fp32's would.
        typealias Bits = SIMD16<UInt32>
        var top = Bits(), i = 0
        while i + 16 <= count {
            let bits = unsafeBitCast(UnsafeRawPointer(x + i).loadUnaligned(as: V.self), to: Bits.self) & 0x7FFF_FFFF
            top = top.replacing(with: bits, where: bits .> top)
            i += 16
        }
        var m = top.max()
        while i < count { m = Swift.max(m, x[i].bitPattern & 0x7FFF_FFFF); i += 1 }
        return Float(bitPattern: m)
    }
    @inline(__always)
    func round(_ x: UnsafePointer<Float>, _ count: Int, _ inverse: Float, _ out: UnsafeMutablePointer<Int16>) {
        @inline(__always)
        func code(_ v: V) -> SIMD16<Int16> {
            var y = (v * inverse).rounded(.toNearestOrEven)
            y = y.replacing(with: 0, where: .!(y .== y))   // 0·inf and NaN inputs become 0
            y = pointwiseMin(pointwiseMax(y, V(repeating: -activationLimit)), V(repeating: activationLimit))
            return int16Codes(y)
        }
        var i = 0
        while i + 16 <= count {
            UnsafeMutableRawPointer(out + i).storeBytes(of: code(UnsafeRawPointer(x + i).loadUnaligned(as: V.self)),
                                                        as: SIMD16<Int16>.self)
            i += 16
        }
        if i < count {
            var tail = V()
            for k in 0..<(count - i) { tail[k] = x[i + k] }
            let c = code(tail)
            for k in 0..<(count - i) { out[i + k] = c[k] }
        }
    }
    let largest = Swift.max(largestMagnitude(x0, split), largestMagnitude(x1, columns - split))
    let inverse = activationLimit / largest
    round(x0, split, inverse, codes)
    round(x1, columns - split, inverse, codes + split)
    if columns % 2 == 1 { codes[columns] = 0 }
    return largest / activationLimit
}

/// One stream's int32 sums over a panel's 32 rows, as `32 / IntLanes.scalarCount` vectors.
private struct IntSums {
    var a = (IntLanes(), IntLanes(), IntLanes(), IntLanes())

    /// Adds column pairs `first..<end` of the panel at `panel`, against the
    /// activation codes' pairs (`pairs[k]` is columns 2k and 2k+1).
    @inline(__always)
    mutating func add(_ panel: UnsafeRawPointer, pairs first: Int, _ end: Int, _ pairs: UnsafePointer<Int32>) {
        var offset = first * int8PairBytes
        let step = CodePairs.scalarCount
        for k in first..<end {
            let xPair = pairs[k]
            a.0 = addPairProducts(a.0, panel.loadUnaligned(fromByteOffset: offset, as: CodePairs.self), xPair)
            a.1 = addPairProducts(a.1, panel.loadUnaligned(fromByteOffset: offset + step, as: CodePairs.self), xPair)
            if parts == 4 {
                a.2 = addPairProducts(a.2, panel.loadUnaligned(fromByteOffset: offset + 2 * step, as: CodePairs.self), xPair)
                a.3 = addPairProducts(a.3, panel.loadUnaligned(fromByteOffset: offset + 3 * step, as: CodePairs.self), xPair)
            }
            offset += int8PairBytes
        }
    }

    /// `into + Float(sums)`, lane by lane, and the sums cleared for the next chunk.
    @inline(__always)
    mutating func drain(into f: inout Sums) {
        f.even.0 += floats(a.0)
        f.even.1 += floats(a.1)
        if parts == 4 {
            f.even.2 += floats(a.2)
            f.even.3 += floats(a.3)
        }
        a = (IntLanes(), IntLanes(), IntLanes(), IntLanes())
    }
}

/// The int8 product over panels `firstPanel..<endPanel` (see `multiplyPanels`):
/// each stream's input quantised once per call, then for each panel and
/// stream, int32 sums chunk by chunk into float32, times the stream's
/// activation scale, then `Sums.store` (row scale, bias or accumulate).
func multiplyInt8Panels(elements: UnsafeRawPointer, scales: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        rows: Int, columns: Int, firstPanel: Int, endPanel: Int,
                        x0: UnsafePointer<Float>, x0Stride: Int, split: Int,
                        x1: UnsafePointer<Float>, x1Stride: Int,
                        y: UnsafeMutablePointer<Float>, yStride: Int, batch: Int) {
    let pairCount = (columns + 1) / 2
    let panelBytes = pairCount * int8PairBytes
    withUnsafeTemporaryAllocation(of: Int32.self, capacity: batch * pairCount) { pairBuffer in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: batch) { activationScales in
            let pairs = pairBuffer.baseAddress!
            for b in 0..<batch {
                activationScales[b] = quantiseActivations(
                    x0 + b * x0Stride, split: split, x1 + b * x1Stride, columns: columns,
                    into: UnsafeMutableRawPointer(pairs + b * pairCount).assumingMemoryBound(to: Int16.self))
            }
            var panel = elements + firstPanel * panelBytes
            for p in firstPanel..<endPanel {
                let row0 = p * panelRows
                var b = 0
                #if SEQUNET_AVX512
                // Four streams at a time: each widened weight vector feeds four streams' sums.
                while b + 4 <= batch {
                    var f = (Sums(), Sums(), Sums(), Sums())
                    var chunk = 0
                    while chunk < pairCount {
                        let end = Swift.min(chunk + pairsPerChunk, pairCount)
                        var s0 = IntSums(), s1 = IntSums(), s2 = IntSums(), s3 = IntSums()
                        let q0 = pairs + b * pairCount, q1 = q0 + pairCount, q2 = q1 + pairCount, q3 = q2 + pairCount
                        var offset = chunk * int8PairBytes
                        for k in chunk..<end {
                            let lo = panel.loadUnaligned(fromByteOffset: offset, as: CodePairs.self)
                            let hi = panel.loadUnaligned(fromByteOffset: offset + 32, as: CodePairs.self)
                            s0.a.0 = addPairProducts(s0.a.0, lo, q0[k]); s0.a.1 = addPairProducts(s0.a.1, hi, q0[k])
                            s1.a.0 = addPairProducts(s1.a.0, lo, q1[k]); s1.a.1 = addPairProducts(s1.a.1, hi, q1[k])
                            s2.a.0 = addPairProducts(s2.a.0, lo, q2[k]); s2.a.1 = addPairProducts(s2.a.1, hi, q2[k])
                            s3.a.0 = addPairProducts(s3.a.0, lo, q3[k]); s3.a.1 = addPairProducts(s3.a.1, hi, q3[k])
                            offset += int8PairBytes
                        }
                        s0.drain(into: &f.0); s1.drain(into: &f.1); s2.drain(into: &f.2); s3.drain(into: &f.3)
                        chunk = end
                    }
                    f.0.scaleSums(by: activationScales[b])
                    f.1.scaleSums(by: activationScales[b + 1])
                    f.2.scaleSums(by: activationScales[b + 2])
                    f.3.scaleSums(by: activationScales[b + 3])
                    f.0.store(into: y + b * yStride, row0: row0, rows: rows, scales: scales, bias: bias)
                    f.1.store(into: y + (b + 1) * yStride, row0: row0, rows: rows, scales: scales, bias: bias)
                    f.2.store(into: y + (b + 2) * yStride, row0: row0, rows: rows, scales: scales, bias: bias)
                    f.3.store(into: y + (b + 3) * yStride, row0: row0, rows: rows, scales: scales, bias: bias)
                    b += 4
                }
                #endif
                while b < batch {
                    var f = Sums()
                    var chunk = 0
                    while chunk < pairCount {
                        let end = Swift.min(chunk + pairsPerChunk, pairCount)
                        // Two sets of sums, even and odd pairs, so that consecutive
                        // pairs do not wait on each other; integer sums, so the
                        // split does not change the total.
                        var even = IntSums(), odd = IntSums()
                        let q = pairs + b * pairCount
                        var k = chunk
                        while k + 1 < end {
                            even.add(panel, pairs: k, k + 1, q)
                            odd.add(panel, pairs: k + 1, k + 2, q)
                            k += 2
                        }
                        if k < end { even.add(panel, pairs: k, end, q) }
                        even.a = (even.a.0 &+ odd.a.0, even.a.1 &+ odd.a.1, even.a.2 &+ odd.a.2, even.a.3 &+ odd.a.3)
                        even.drain(into: &f)
                        chunk = end
                    }
                    f.scaleSums(by: activationScales[b])
                    f.store(into: y + b * yStride, row0: row0, rows: rows, scales: scales, bias: bias)
                    b += 1
                }
                panel += panelBytes
            }
        }
    }
}
