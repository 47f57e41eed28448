import XCTest
@testable import SequnetEngine

final class SamplerTests: XCTestCase {
    func testTemperatureZeroTakesTheArgmax() {
        var logits = [Float](repeating: 0, count: 256)
        logits[42] = 3
        let sampler = CategoricalSampler(temperature: 0, seed: 1)
        logits.withUnsafeBufferPointer { XCTAssertEqual(sampler.sample($0), 42) }
    }

    func testSameSeedGivesTheSameDraws() {
        let logits = (0..<256).map { Float(sin(Double($0) / 7)) }
        let a = CategoricalSampler(temperature: 1, seed: 99), b = CategoricalSampler(temperature: 1, seed: 99)
        logits.withUnsafeBufferPointer { p in
            let drawsA = (0..<500).map { _ in a.sample(p) }
            let drawsB = (0..<500).map { _ in b.sample(p) }
            XCTAssertEqual(drawsA, drawsB)
        }
    }

    func testDrawsFollowTheSoftmax() {
        // Two classes with logits log(3) and 0: expect class 0 three times as often.
        var logits = [Float](repeating: -1e9, count: 256)
        logits[0] = log(3)
        logits[1] = 0
        let sampler = CategoricalSampler(temperature: 1, seed: 5)
        var zeros = 0
        let n = 40_000
        logits.withUnsafeBufferPointer { p in
            for _ in 0..<n where sampler.sample(p) == 0 { zeros += 1 }
        }
        XCTAssertEqual(Double(zeros) / Double(n), 0.75, accuracy: 0.01)
    }

    func testMinPDropsClassesBelowItsShareOfTheModeAndRenormalisesTheRest() {
        // Probabilities relative to the mode: 1, 0.5, 0.04. With min-p 0.05 class 2 is
        // dropped and classes 0 and 1 are drawn 2 : 1.
        var logits = [Float](repeating: -1e9, count: 256)
        logits[0] = 0
        logits[1] = log(0.5)
        logits[2] = log(0.04)
        let sampler = CategoricalSampler(temperature: 1, minP: 0.05, seed: 3)
        var counts = [Int](repeating: 0, count: 256)
        let n = 40_000
        logits.withUnsafeBufferPointer { p in
            for _ in 0..<n { counts[sampler.sample(p)] += 1 }
        }
        XCTAssertEqual(counts[2], 0)
        XCTAssertEqual(counts[0] + counts[1], n)
        XCTAssertEqual(Double(counts[0]) / Double(n), 2.0 / 3.0, accuracy: 0.01)
    }

    func testMinPAppliesToTheTemperedDistribution() {
        // At temperature 0.5 the ratio 0.2 becomes 0.04, below min-p 0.05: only the mode is left.
        var logits = [Float](repeating: -1e9, count: 256)
        logits[7] = 0
        logits[8] = log(0.2)
        let sampler = CategoricalSampler(temperature: 0.5, minP: 0.05, seed: 4)
        logits.withUnsafeBufferPointer { p in
            for _ in 0..<2_000 { XCTAssertEqual(sampler.sample(p), 7) }
        }
    }

    // MARK: The draw is defined as a scan; the sampler's faster search must agree with it

    /// The definition, written out: the first maximum by `>` (a NaN never taken unless first);
    /// w = exp((logit - max) / T), dropped below min-p; the first class whose running total,
    /// summed in class order, exceeds u x total, else the argmax.
    private func scanDraw(_ logits: [Float], temperature: Float, minP: Float, u: Float) -> Int {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        if temperature == 0 { return best }
        let w = logits.map { l -> Float in
            let e = vexp(Vec8(repeating: (l - logits[best]) * (1 / temperature)))[0]  // the engine's exp, lane by lane
            return e < minP ? 0 : e
        }
        var total: Float = 0
        for x in w { total += x }
        var running: Float = 0
        for (j, x) in w.enumerated() {
            running += x
            if running > u * total { return j }
        }
        return best
    }

    func testArgmaxIsTheFirstLargestLogitWhateverTiesZerosInfinitiesAndNaNs() {
        let cases: [[Float]] = [
            [Float](repeating: 0, count: 256),                               // all tied: the first
            (0..<256).map { $0 == 200 || $0 == 230 ? 5 : 0 },                // tie past the vector part
            (0..<256).map { $0 == 3 ? -0.0 : ($0 == 1 ? 0.0 : -1) },          // +0 before -0
            (0..<256).map { $0 == 0 ? .nan : Float($0) },                     // a first NaN wins, as in the scan
            (0..<256).map { $0 % 7 == 0 ? .nan : Float($0 % 50) },           // later NaNs are skipped
            [Float](repeating: -.infinity, count: 256),
            (0..<49).map { $0 == 48 ? 1 : 0 },                               // a vocabulary that is not a multiple of 16
            (0..<5).map { Float($0 % 3) },
            [2],
        ]
        let sampler = CategoricalSampler(temperature: 0, seed: 1)
        for logits in cases {
            logits.withUnsafeBufferPointer {
                XCTAssertEqual(sampler.sample($0), scanDraw(logits, temperature: 0, minP: 0, u: 0), "\(logits.prefix(8))")
            }
        }
    }

    func testEveryDrawIsTheClassTheRunningTotalScanPicks() {
        // The same uniforms as the sampler draws (its generator, seeded alike), the same
        // exp: the same class every time, bit for bit.
        var generator = SeededGenerator(seed: 11)
        for trial in 0..<300 {
            let count = [256, 49, 10, 1][trial % 4]
            let logits = (0..<count).map { _ in Float(generator.nextUnitFloat()) * 12 - 9 }
            let temperature: Float = [1, 0.7, 1.4][trial % 3]
            let minP: Float = trial % 5 == 0 ? 0.05 : 0
            let sampler = CategoricalSampler(temperature: temperature, minP: minP, seed: UInt64(trial))
            var uniforms = SeededGenerator(seed: UInt64(trial))  // the sampler's own stream of uniforms
            logits.withUnsafeBufferPointer { p in
                for _ in 0..<20 {
                    let u = uniforms.nextUnitFloat()
                    let drawn = sampler.sample(p)
                    let expected = scanDraw(logits, temperature: temperature, minP: minP, u: u)
                    XCTAssertEqual(drawn, expected, "trial \(trial)")
                }
            }
        }
    }
}
