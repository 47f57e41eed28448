import XCTest
@testable import SequnetEngine

/// Priming by prefill (each layer over all its ticks or steps at once) leaves exactly
/// the state stepping through the prompt leaves: the same logits after
/// priming and after every later step, bit for bit. The one exception is an
/// fp32 Seq-U-Net, whose prefill folds the input conv into level 0's first
/// down conv (the same sums in another order): within 1e-5.
final class PrefillTests: XCTestCase {
    /// Prefilled logits against stepped ones: bit for bit, or within 1e-5
    /// where `model` folds its first conv.
    func assertPrimedAlike(_ prefilled: [Float], _ stepped: [Float], _ model: Model, _ message: String,
                           file: StaticString = #filePath, line: UInt = #line) {
        guard (model.weights as? SeqUNetWeights)?.foldedInput != nil else {
            return XCTAssertEqual(prefilled, stepped, message, file: file, line: line)
        }
        XCTAssertEqual(prefilled.count, stepped.count, message, file: file, line: line)
        let worst = zip(prefilled, stepped).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-5, "\(message): max difference \(worst)", file: file, line: line)
    }

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
            assertPrimedAlike(prefilled, stepped, model, "\(label), prompts of \(lengths)")
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
            assertPrimedAlike(first, stepped, model, name)
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
            assertPrimedAlike(same, logitsAfterPriming(model, prompts: Array(repeating: shared, count: 3), stepping: true, extra: 20),
                              model, "\(name), one prompt for all")
            let stepped = logitsAfterPriming(model, prompts: prompts, stepping: true, extra: 20)
            for group in [1, 2, 3] {
                assertPrimedAlike(logitsAfterPriming(model, prompts: prompts, stepping: false, group: group, extra: 20), stepped,
                                  model, "\(name), groups of \(group)")
            }
            // A batch primed again after stepping (its rings mid-cycle) ends the same.
            let reused = model.makeBatch(count: prompts.count)
            XCTAssertTrue(reused.prime(with: prompts, stepping: false, prefillGroup: 2, shouldStop: { false }))
            for t in 0..<7 { reused.step((0..<prompts.count).map { (t * 5 + $0) % 256 }) }
            XCTAssertTrue(reused.prime(with: prompts, stepping: false, prefillGroup: 2, shouldStop: { false }))
            assertPrimedAlike(logitsFromHere(reused, extra: 20), stepped, model, "\(name), primed again")
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
