import Foundation

/// xoshiro256** seeded through SplitMix64: small, fast, and the same
/// sequence on every platform, so a seed always gives the same audio.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var z = seed
        func splitMix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }
}

/// Draws the next class from logits: `softmax(logits / temperature)`, one
/// categorical draw; temperature 0 takes the argmax.
public struct Sampler: @unchecked Sendable {
    public let temperature: Float
    private var generator: SeededGenerator
    /// exp((logit - max) / temperature) per class, reused across draws.
    private let weights: FloatBuffer

    /// `classes` bounds the logits this sampler will be given.
    public init(temperature: Float, seed: UInt64, classes: Int = 256) {
        precondition(temperature >= 0 && temperature.isFinite, "temperature must be finite and >= 0")
        self.temperature = temperature
        generator = SeededGenerator(seed: seed)
        weights = FloatBuffer(count: (classes + 7) / 8 * 8)
    }

    /// The sampled class. Allocates nothing.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> UInt8 {
        precondition(logits.count <= weights.count, "more logits than the sampler was made for")
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        if temperature == 0 { return UInt8(best) }
        // Subtracting the max keeps exp in range; exps are computed once,
        // eight at a time, then the CDF is walked.
        let maxLogit = logits[best], scale = 1 / temperature
        let w = weights.pointer
        var i = 0
        while i < logits.count {
            var v = Vec8(repeating: -.infinity)
            for lane in 0..<min(8, logits.count - i) { v[lane] = (logits[i + lane] - maxLogit) * scale }
            let e = vexp(v)
            for lane in 0..<min(8, logits.count - i) { w[i + lane] = e[lane] }
            i += 8
        }
        var total: Float = 0
        for j in 0..<logits.count { total += w[j] }
        let target = generator.nextUnitFloat() * total
        var running: Float = 0
        for j in 0..<logits.count {
            running += w[j]
            if running > target { return UInt8(j) }
        }
        return UInt8(best)
    }
}
