import XCTest
@testable import SequnetEngine

final class SamplerTests: XCTestCase {
    func testTemperatureZeroTakesTheArgmax() {
        var logits = [Float](repeating: 0, count: 256)
        logits[42] = 3
        var sampler = Sampler(temperature: 0, seed: 1)
        logits.withUnsafeBufferPointer { XCTAssertEqual(sampler.sample($0), 42) }
    }

    func testSameSeedGivesTheSameDraws() {
        let logits = (0..<256).map { Float(sin(Double($0) / 7)) }
        var a = Sampler(temperature: 1, seed: 99), b = Sampler(temperature: 1, seed: 99)
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
        var sampler = Sampler(temperature: 1, seed: 5)
        var zeros = 0
        let n = 40_000
        logits.withUnsafeBufferPointer { p in
            for _ in 0..<n where sampler.sample(p) == 0 { zeros += 1 }
        }
        XCTAssertEqual(Double(zeros) / Double(n), 0.75, accuracy: 0.01)
    }
}
