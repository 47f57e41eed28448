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
        let count = logits.count
        guard let base = logits.baseAddress, count > 0 else { return 0 }
        let best = firstArgmax(base, count)
        let bestLogit = base[best]
        if temperature == 0 { return best }
        // Subtracting the max keeps exp in range; exps are computed once,
        // eight at a time (whole vectors loaded where eight remain), then the
        // CDF is walked. Every lane does the same two operations either way,
        // so the weights do not depend on how they were loaded.
        let shift = Vec8(repeating: bestLogit), scale = Vec8(repeating: 1 / temperature)
        let w = weights.pointer
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(base + i).loadUnaligned(as: Vec8.self)
            UnsafeMutableRawPointer(w + i).storeBytes(of: vexp((v - shift) * scale), as: Vec8.self)
            i += 8
        }
        if i < count {
            var v = Vec8(repeating: -.infinity)
            for lane in 0..<(count - i) { v[lane] = (base[i + lane] - bestLogit) * scale[0] }
            let e = vexp(v)
            for lane in 0..<(count - i) { w[i + lane] = e[lane] }
        }
        // w[best] is exp(0) = 1, so w[j] is class j's probability relative to the mode's;
        // min-p 0 zeroes nothing. (Should rounding ever drop the mode too, total is 0
        // and the argmax fallback below returns it.) The running total is summed in
        // class order, one add at a time, so that a draw is the same bytes on every
        // build; w[j] becomes the total up to and including class j, the CDF.
        var total: Float = 0
        if minP > 0 {
            for j in 0..<count {
                total += w[j] < minP ? 0 : w[j]
                w[j] = total
            }
        } else {
            for j in 0..<count {
                total += w[j]
                w[j] = total
            }
        }
        // The first class whose running total passes the target; the CDF never
        // decreases, so a binary search finds the class a linear walk would.
        let target = generator.nextUnitFloat() * total
        guard w[count - 1] > target else { return best }
        var low = 0, high = count - 1
        while low < high {
            let mid = (low + high) / 2
            if w[mid] > target { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// The first index of the largest logit, as a scan keeping `i` when
    /// `logits[i] > best` gives it (a NaN is never taken, unless it is first),
    /// but found sixteen at a time: at 256 classes the scan's unpredictable
    /// branches cost more than the rest of a draw.
    private func firstArgmax(_ logits: UnsafePointer<Float>, _ count: Int) -> Int {
        if logits[0].isNaN { return 0 }
        var lanes = SIMD16<Float>(repeating: -.infinity)
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(logits + i).loadUnaligned(as: SIMD16<Float>.self)
            lanes.replace(with: v, where: v .> lanes)
            i += 16
        }
        var largest = lanes[0]
        for lane in 1..<16 where lanes[lane] > largest { largest = lanes[lane] }
        for j in i..<count where logits[j] > largest { largest = logits[j] }
        // Every value is <= largest and one equals it (NaNs aside, which never compare equal).
        var j = 0
        while !(logits[j] == largest) { j += 1 }
        return j
    }
}
