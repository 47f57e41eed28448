import XCTest
@testable import SequnetEngine

/// Priming by prefill (each layer over all its ticks or steps at once) leaves exactly
/// the state stepping through the prompt leaves: the same logits after
/// priming and after every later step, bit for bit. That includes an fp32
/// Seq-U-Net, whose level-0 first down conv both paths compute from the
/// tables that fold it into the input conv once its window is full.
final class PrefillTests: XCTestCase {

    func logitsAfterPriming(_ model: Model, prompts: [[Int]], stepping: Bool, threads: Int = 1, group: Int = .max,
                            extra: Int) -> [Float] {
        let batch = model.makeBatch(count: prompts.count, threads: threads)
        XCTAssertTrue(batch.prime(with: prompts, stepping: stepping, prefillGroup: group, shouldStop: { false }))
        return logitsFromHere(batch, extra: extra)
    }

    /// Every stream's logits now and after each of `extra` steps of a fixed
    /// input pattern (fixed, so that logits within rounding of each other
    /// are compared on the same inputs).
    func logitsFromHere(_ batch: StreamBatch, extra: Int) -> [Float] {
        var out: [Float] = []
        for t in 0...extra {
            for b in 0..<batch.count { out += batch.logits(b) }
            batch.step((0..<batch.count).map { b in (t * 37 + b * 11 + 64) % 256 })
        }
        return out
    }

    func check(_ model: Model, _ label: String, threads: Int = 1, lengthSets: [[Int]]? = nil) {
        let size = model.config.inputSize
        for lengths in lengthSets ?? [[0], [1], [size / 3], [size], [size + 57], [5, size + 3, 0, size / 2]] {
            let prompts = lengths.enumerated().map { b, n in (0..<n).map { ($0 * (7 + b) + 3 * b) % 256 } }
            let prefilled = logitsAfterPriming(model, prompts: prompts, stepping: false, threads: threads, extra: 40)
            let stepped = logitsAfterPriming(model, prompts: prompts, stepping: true, threads: threads, extra: 40)
            XCTAssertEqual(prefilled, stepped, "\(label), prompts of \(lengths)")
        }
    }

    /// Priming from silence is computed once per model, as one stream, then
    /// copied into every stream of any batch: a batch that copies it
    /// computes what stepping through the silence computes, and a stream
    /// that has since moved on does not change what the next one copies.
    func testSilencePrimingIsComputedOnceThenCopied() throws {
        for name in Fixtures.names {
            let model = try Fixtures.model(name)
            XCTAssertNil(model.silencePrimed.state(batch: 1))
            let first = logitsAfterPriming(model, prompts: [[], []], stepping: false, extra: 40)
            XCTAssertNotNil(model.silencePrimed.state(batch: 1), name)
            XCTAssertNil(model.silencePrimed.state(batch: 2), "kept once, as one stream: \(name)")
            let copied = logitsAfterPriming(model, prompts: [[], []], stepping: false, extra: 40)
            let stepped = logitsAfterPriming(model, prompts: [[], []], stepping: true, extra: 40)
            XCTAssertEqual(first, stepped, name)
            XCTAssertEqual(copied, first, name)
        }
    }

    /// One prompt for every stream is prefilled once, as a single stream,
    /// and copied; a batch larger than fits in memory at once is prefilled a
    /// group of streams at a time. Either way each stream ends as stepping
    /// the whole batch through its prompt leaves it.
    func testOnePromptForAllAndGroupsOfStreamsPrimeAsSteppingDoes() throws {
        let size = 300
        let shared = (0..<size).map { ($0 * 11) % 256 }
        let prompts = [[5, 9], [Int](), shared, (0..<size / 2).map { ($0 * 3) % 256 }, shared]
        for name in ["sequnet_c16_l4_d1_k5", "wavenet_l4_b2_r16_d16_s32"] {
            let model = try Fixtures.model(name)
            let same = logitsAfterPriming(model, prompts: Array(repeating: shared, count: 3), stepping: false, extra: 20)
            XCTAssertEqual(same, logitsAfterPriming(model, prompts: Array(repeating: shared, count: 3), stepping: true, extra: 20),
                           "\(name), one prompt for all")
            let stepped = logitsAfterPriming(model, prompts: prompts, stepping: true, extra: 20)
            for group in [1, 2, 3] {
                XCTAssertEqual(logitsAfterPriming(model, prompts: prompts, stepping: false, group: group, extra: 20), stepped,
                               "\(name), groups of \(group)")
            }
            // A batch primed again after stepping (its rings mid-cycle) ends the same.
            let reused = model.makeBatch(count: prompts.count)
            XCTAssertTrue(reused.prime(with: prompts, stepping: false, prefillGroup: 2, shouldStop: { false }))
            for t in 0..<7 { reused.step((0..<prompts.count).map { (t * 5 + $0) % 256 }) }
            XCTAssertTrue(reused.prime(with: prompts, stepping: false, prefillGroup: 2, shouldStop: { false }))
            XCTAssertEqual(logitsFromHere(reused, extra: 20), stepped, "\(name), primed again")
        }
    }

    /// A stop request is heard between products: whichever check asks to
    /// stop, priming reports that it did not finish.
    func testAStoppedPrefillSaysItDidNotFinish() throws {
        for name in ["sequnet_c16_l4_d1_k5", "wavenet_l4_b2_r16_d16_s32"] {
            let model = try Fixtures.model(name)
            let prompt = (0..<model.config.inputSize).map { ($0 * 13) % 256 }
            var checks = 0
            XCTAssertTrue(model.makeBatch(count: 1).prime(with: [prompt], stepping: false,
                                                          shouldStop: { checks += 1; return false }))
            XCTAssertGreaterThan(checks, 1, name)
            for stopAt in 1...checks {
                var asked = 0
                let finished = model.makeBatch(count: 1).prime(with: [prompt], stepping: false,
                                                               shouldStop: { asked += 1; return asked == stopAt })
                XCTAssertFalse(finished, "\(name), stopped at check \(stopAt) of \(checks)")
            }
        }
    }

    func testPrefillIsSteppingOnEveryGoldenSeqUNet() throws {
        for name in Fixtures.names where name.hasPrefix("sequnet") {
            for precision in MatrixPrecision.allCases {
                let model = try Model(contentsOf: Fixtures.path("\(name).pt"), precision: precision)
                check(model, "\(name) \(precision)")
            }
        }
    }

    func testPrefillIsSteppingForAWiderModelOnTwoThreads() throws {
        let model = try Model(randomWeightsFor: try ArchitectureSpec.parse("sequnet:features=40,levels=5,depth=2,kernel=5"),
                              seed: 4, precision: .int8)
        check(model, "C=40 int8", threads: 2)
    }

    func testPrefillIsSteppingWhenLevelsRunInSeveralChunks() throws {
        // An input size of 20,477 steps: level 0's products run in chunks of positions.
        let model = try Model(randomWeightsFor: try ArchitectureSpec.parse("sequnet:features=8,levels=11,depth=1,kernel=5"),
                              seed: 5, precision: .int8)
        XCTAssertGreaterThan(model.config.inputSize, 2 * 8192)
        check(model, "L=11 int8", threads: 2, lengthSets: [[model.config.inputSize / 2, 40]])
    }

    func testPrefillIsSteppingForWaveNets() throws {
        let name = "wavenet_l4_b2_r16_d16_s32"
        for precision in MatrixPrecision.allCases {
            let model = try Model(contentsOf: Fixtures.path("\(name).pt"), hyperparameters: ["layers_per_block": 4],
                                  precision: precision)
            check(model, "\(name) \(precision)")
        }
        // 13 layers a block: an input size of 16,383 steps, dilated products in chunks.
        let wide = try Model(randomWeightsFor: try ArchitectureSpec.parse("wavenet:layers=13,blocks=2,residual=8,dilation=8,skip=16"),
                             seed: 6, precision: .bf16)
        XCTAssertGreaterThan(wide.config.inputSize, 8192)
        check(wide, "13x2 bf16", threads: 2, lengthSets: [[wide.config.inputSize - 100, 300]])
    }
}
