import Foundation

/// Draws each of several independent binary outputs (a piano roll's keys)
/// from its own sigmoid: key k sounds with probability
/// `sigmoid(logit[k] / temperature)`; temperature 0 takes every key whose
/// logit is positive. One uniform draw per key, in key order, so a seed
/// always gives the same frames.
public final class BernoulliSampler: @unchecked Sendable {
    public let temperature: Float
    private var generator: SeededGenerator

    public init(temperature: Float, seed: UInt64) {
        precondition(temperature >= 0 && temperature.isFinite, "temperature must be finite and >= 0")
        self.temperature = temperature
        generator = SeededGenerator(seed: seed)
    }

    /// Writes 1 for each key drawn to sound and 0 otherwise into `frame`
    /// (as long as `logits`); returns how many sound. Allocates nothing.
    @discardableResult
    public func sample(_ logits: UnsafeBufferPointer<Float>, into frame: UnsafeMutableBufferPointer<Float>) -> Int {
        precondition(frame.count >= logits.count, "the frame is shorter than the logits")
        var sounding = 0
        for k in logits.indices {
            let on: Bool
            if temperature == 0 {
                on = logits[k] > 0
            } else {
                let p = 1 / (1 + expf(-logits[k] / temperature))
                on = generator.nextUnitFloat() < p
            }
            frame[k] = on ? 1 : 0
            if on { sounding += 1 }
        }
        return sounding
    }
}
