// The gated activation, `identity + tanh(f) * sigmoid(g)`, for every kernel
// build: 16 lanes at a time with AVX-512, 8 with AVX2. Each lane is the same
// sequence of float operations in every build (no fused multiply-adds: Swift
// asks LLVM for none), so the width changes the speed, never the bytes.

#if SEQUNET_AVX512
/// The integer lanes a `Lanes` value's bits are read as.
public typealias LaneBits = SIMD16<Int32>
#else
public typealias LaneBits = SIMD8<Int32>
#endif

/// `exp(x)` lane by lane, for tanh and sigmoid (and the sampler's softmax).
///
/// Range reduction `x = k ln2 + r`, a degree-6 polynomial for `exp(r)` on
/// |r| <= ln2/2, and 2^k put in by the exponent bits. Relative error is a
/// few float ulps, far inside the 1e-4 parity budget, with no libm call.
@inline(always)
func laneExp(_ x: Lanes) -> Lanes {
    // Clamp so 2^k stays a normal float; exp saturates to 0 or 1.6e38 there,
    // which tanh and sigmoid below turn into their exact limits.
    var v = x
    v.replace(with: Lanes(repeating: -87), where: v .< -87)
    v.replace(with: Lanes(repeating: 88), where: v .> 88)
    // Adding 1.5 * 2^23 rounds x*log2(e) to the nearest integer k and leaves
    // k in the low mantissa bits, so no float-to-int conversion is needed.
    let magic = Lanes(repeating: 12_582_912)
    let shifted = v * 1.442_695_04 + magic
    let k = shifted - magic
    var r = v - k * 0.693_145_75      // ln2, high part
    r = r - k * 1.428_606_8e-6        // ln2, low part
    var p = Lanes(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let kBits = unsafeBitCast(shifted, to: LaneBits.self) &- unsafeBitCast(magic, to: LaneBits.self)
    let scale = unsafeBitCast((kBits &+ 127) &<< 23, to: Lanes.self)
    return p * scale
}

/// `laneExp` for callers outside the kernels (the sampler's softmax).
public func exponential(_ x: Lanes) -> Lanes { laneExp(x) }

/// `identity + tanh(f) * sigmoid(g)`, lane by lane.
@inline(always)
func laneGated(_ f: Lanes, _ g: Lanes, _ identity: Lanes) -> Lanes {
    // tanh(f) = 1 - 2 / (exp(2f) + 1); sigmoid(g) = 1 / (1 + exp(-g)).
    let tanhF = 1 - 2 / (laneExp(f + f) + 1)
    let sigmoidG = 1 / (1 + laneExp(-g))
    return identity + tanhF * sigmoidG
}

/// A gated layer's activation over the panels `firstPanel..<endPanel` of its
/// pre-activations, for `batch` streams. Panel p holds 16 channels' filter
/// rows then their gate rows (`pre + b * preStride + p * 32`); it belongs to
/// unit `p / groups` (output `first`, else `second`) and covers channels
/// `(p % groups) * 16 ..< +16` of `channels`. Stream b's output and identity
/// (nil: no residual) start `b * outputStride` and `b * identityStride` on.
/// Lanes past `channels` are neither read from the identity nor written.
public func applyGatedPanels(pre: UnsafePointer<Float>, preStride: Int, batch: Int, firstPanel: Int, endPanel: Int,
                             groups: Int, channels: Int, identity: UnsafePointer<Float>?, identityStride: Int,
                             first: UnsafeMutablePointer<Float>, second: UnsafeMutablePointer<Float>?,
                             outputStride: Int) {
    let group = panelRows / 2, width = Lanes.scalarCount
    var laneIndex = LaneBits()
    for i in 0..<width { laneIndex[i] = Int32(i) }
    for p in firstPanel..<endPanel {
        let (unit, g) = p.quotientAndRemainder(dividingBy: groups)
        let channel = g * group, count = min(group, channels - channel)
        let out = (unit == 0 ? first : second!) + channel
        let id = identity.map { $0 + channel }
        for b in 0..<batch {
            let filter = UnsafeRawPointer(pre + b * preStride + p * 2 * group), gate = filter + group * 4
            let output = out + b * outputStride, residual = id.map { $0 + b * identityStride }
            var o = 0
            while o + width <= count {
                let v = laneGated(filter.loadUnaligned(fromByteOffset: o * 4, as: Lanes.self),
                                  gate.loadUnaligned(fromByteOffset: o * 4, as: Lanes.self),
                                  residual.map { UnsafeRawPointer($0).loadUnaligned(fromByteOffset: o * 4, as: Lanes.self) }
                                      ?? Lanes())
                UnsafeMutableRawPointer(output).storeBytes(of: v, toByteOffset: o * 4, as: Lanes.self)
                o += width
            }
            if o < count {
                // The ragged end: the panel's rows are all there to load (a
                // narrow panel's unused rows hold leftovers, so the dead lanes
                // are masked to zero); the identity and output only `count`.
                let live = laneIndex .< LaneBits(repeating: Int32(count - o))
                var f = Lanes(), gv = Lanes(), iv = Lanes()
                f.replace(with: filter.loadUnaligned(fromByteOffset: o * 4, as: Lanes.self), where: live)
                gv.replace(with: gate.loadUnaligned(fromByteOffset: o * 4, as: Lanes.self), where: live)
                if let residual { for lane in 0..<(count - o) { iv[lane] = residual[o + lane] } }
                let v = laneGated(f, gv, iv)
                for lane in 0..<(count - o) { output[o + lane] = v[lane] }
            }
        }
    }
}
