import XCTest
import SequnetEngine

/// A `StreamBatch` of B streams generates, per stream, exactly what a
/// `StreamState` of its own generates from the same prompt and seed: in
/// every precision, on any number of threads, with prompts of different
/// lengths in one batch.
final class StreamBatchTests: XCTestCase {
    /// `steps` samples drawn with `seed`, after priming with `prompt`.
    func alone(_ model: Model, prompt: [Int], seed: UInt64, steps: Int) -> [Int] {
        let stream = model.makeStream()
        stream.prime(with: prompt)
        let sampler = CategoricalSampler(temperature: 1, seed: seed)
        return (0..<steps).map { _ in
            let next = sampler.sample(stream.logits)
            stream.step(next)
            return next
        }
    }

    func together(_ model: Model, prompts: [[Int]], seeds: [UInt64], steps: Int, threads: Int = 1) -> [[Int]] {
        let batch = model.makeBatch(count: seeds.count, threads: threads)
        batch.prime(with: prompts)
        let samplers = seeds.map { CategoricalSampler(temperature: 1, seed: $0) }
        var out = [[Int]](repeating: [], count: seeds.count)
        var next = [Int](repeating: 0, count: seeds.count)
        for _ in 0..<steps {
            for b in seeds.indices { next[b] = samplers[b].sample(batch.logits(b)); out[b].append(next[b]) }
            batch.step(next)
        }
        return out
    }

    func testEachStreamOfABatchIsTheStreamGeneratedAlone() throws {
        let prompts = [[Int](), (0..<40).map { 100 + $0 % 50 }, (0..<400).map { ($0 * 7) % 256 }]
        let seeds: [UInt64] = [5, 6, 7]
        for name in Fixtures.names {
            for precision in MatrixPrecision.allCases {
                let model = try Model(contentsOf: Fixtures.path("\(name).pt"),
                                      hyperparameters: (try Fixtures.info(name)["layers"] as? Int).map { ["layers_per_block": $0] } ?? [:],
                                      precision: precision)
                let batched = together(model, prompts: prompts, seeds: seeds, steps: 150)
                for b in seeds.indices {
                    XCTAssertEqual(batched[b], alone(model, prompt: prompts[b], seed: seeds[b], steps: 150),
                                   "\(name) \(precision): stream \(b)")
                }
            }
        }
    }

    func testOnePromptServesTheWholeBatchAndThreadsChangeNothing() throws {
        let model = try Model(randomWeightsFor: try ArchitectureSpec.parse("sequnet:features=40,levels=4,depth=2,kernel=5"),
                              seed: 2, precision: .int8)
        let prompt = (0..<90).map { 128 + $0 % 9 }
        let seeds: [UInt64] = [1, 2, 3, 4]
        let one = together(model, prompts: [prompt], seeds: seeds, steps: 120)
        XCTAssertEqual(together(model, prompts: [prompt], seeds: seeds, steps: 120, threads: 2), one)
        for b in seeds.indices { XCTAssertEqual(one[b], alone(model, prompt: prompt, seed: seeds[b], steps: 120)) }
        XCTAssertEqual(Set(one).count, 4, "different seeds, different streams")
    }
}
