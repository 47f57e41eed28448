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
}
