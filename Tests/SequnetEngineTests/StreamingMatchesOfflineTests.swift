import XCTest
import SequnetCheckpoint
@testable import SequnetEngine

/// Streaming one sample at a time gives the same logits as a plain
/// full-sequence pass over the same input (the primed window then the fed steps).
final class StreamingMatchesOfflineTests: XCTestCase {
    /// A deterministic, audio-like class sequence (a slow wobble around silence).
    func classes(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        var v = 128.0
        return (0..<count).map { _ in
            v += Double(Int(rng.next() % 9) - 4)
            v = min(max(v, 60), 200)
            return UInt8(v)
        }
    }

    func check(_ name: String, promptLength: Int, steps: Int) throws {
        let model = try Fixtures.model(name)
        let dict = try readCheckpoint(atPath: Fixtures.path("\(name).pt"))
        let inputSize = model.config.inputSize, cycles = model.config.cycles
        let prompt = classes(promptLength, seed: 1), fed = classes(steps, seed: 2)

        // What the engine should have seen: silence, the prompt's tail, then the steps.
        let window = [UInt8](repeating: 128, count: max(0, inputSize - prompt.count)) + prompt.suffix(inputSize)
        let firstPhase = ((-(inputSize - 1)) % cycles + cycles) % cycles
        let offline: [[Float]]
        if let c = model.config as? WaveNetConfig {
            offline = OfflineReference.waveNet(dict, classes: window + fed, layersPerBlock: c.layersPerBlock)
        } else {
            offline = OfflineReference.seqUNet(dict, classes: window + fed, firstPhase: firstPhase)
        }

        let stream = model.makeStream()
        stream.prime(with: prompt)
        var worst: Float = 0
        for i in 0...fed.count {
            if i > 0 { stream.step(Int(fed[i - 1])) }
            let row = offline[window.count - 1 + i]
            for k in 0..<row.count { worst = max(worst, abs(row[k] - stream.logits[k])) }
        }
        XCTAssertLessThan(worst, 1e-4, "\(name): streaming differs from the full-sequence pass by \(worst)")
    }

    func testSeqUNetWithShortPrompt() throws { try check("sequnet_c16_l4_d1_k5", promptLength: 40, steps: 70) }
    func testSeqUNetWithLongPrompt() throws { try check("sequnet_c24_l5_d2_k3", promptLength: 300, steps: 53) }
    func testSeqUNetFromSilence() throws { try check("sequnet_c16_l4_d1_k5", promptLength: 0, steps: 33) }
    func testWaveNet() throws { try check("wavenet_l4_b2_r16_d16_s32", promptLength: 45, steps: 60) }
}
