/// Draws the next class from logits: `softmax(logits / temperature)`, one
/// categorical draw; temperature 0 takes the argmax.
///
/// With `minP` > 0, classes whose (tempered) probability is below `minP` times
/// the most likely class's are dropped before the draw ("min-p" truncation).
/// At 16,000 draws a second even a rare far-off class is drawn many times a
/// second, and each such draw is a click; cutting relative to the mode keeps
/// a wide distribution wide (an onset) and a narrow one narrow (a held note),
/// and needs no sort, unlike top-p.
///
/// A class: it owns its random state and its scratch, so two variables are
/// two names for one sampler, never two samplers sharing a buffer.
public final class CategoricalSampler: @unchecked Sendable {
    public let temperature: Float
    public let minP: Float
    private var generator: SeededGenerator
    /// exp((logit - max) / temperature) per class, reused across draws.
    private let weights: FloatBuffer

    /// `classes` bounds the logits this sampler will be given; `minP` is in 0...1.
    public init(temperature: Float, minP: Float = 0, seed: UInt64, classes: Int = 256) {
        precondition(temperature >= 0 && temperature.isFinite, "temperature must be finite and >= 0")
        precondition(minP >= 0 && minP <= 1, "minP must be in 0...1")
        self.temperature = temperature
        self.minP = minP
        generator = SeededGenerator(seed: seed)
        weights = FloatBuffer(count: (classes + 7) / 8 * 8)
    }

    /// The sampled class. Allocates nothing.
    public func sample(_ logits: UnsafeBufferPointer<Float>) -> Int {
        precondition(logits.count <= weights.count, "more logits than the sampler was made for")
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        if temperature == 0 { return best }
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
        // w[best] is exp(0) = 1, so w[j] is class j's probability relative to the mode's;
        // min-p 0 zeroes nothing. (Should rounding ever drop the mode too, total is 0
        // and the argmax fallback below returns it.)
        var total: Float = 0
        for j in 0..<logits.count {
            if w[j] < minP { w[j] = 0 }
            total += w[j]
        }
        let target = generator.nextUnitFloat() * total
        var running: Float = 0
        for j in 0..<logits.count {
            running += w[j]
            if running > target { return j }
        }
        return best
    }
}
