import XCTest
@testable import SequnetEngine

/// The plain Seq-U-Net and the TCN share the engine's contracts: a stream in
/// a batch computes exactly what it computes alone, on any number of threads.
final class SymbolicFamilyTests: XCTestCase {
    static let specs = ["sequnet-plain:features=24,levels=4,kernel=5", "tcn:features=20,levels=3,kernel=3",
                        "sequnet-plain:features=16,bottleneck=8,levels=3,kernel=3"]

    /// A fixed pseudo-random roll: `streams` x `steps` frames of 88 keys.
    func frames(streams: Int, steps: Int) -> [[Float]] {
        var generator = SeededGenerator(seed: 11)
        return (0..<streams).map { _ in (0..<(steps * 88)).map { _ in generator.nextUnitFloat() < 0.06 ? 1 : 0 } }
    }

    func run(_ model: Model, streams: Int, threads: Int, rolls: [[Float]], steps: Int) -> [[Float]] {
        let batch = model.makeBatch(count: streams, threads: threads)
        batch.startSequence(ofLength: steps)
        var out = [[Float]](repeating: [], count: streams)
        var input = [Float](repeating: 0, count: streams * 88)
        for t in 0..<steps {
            for b in 0..<streams { for k in 0..<88 { input[b * 88 + k] = rolls[b][t * 88 + k] } }
            input.withUnsafeBufferPointer { batch.step(vectors: $0) }
            for b in 0..<streams { out[b] += batch.logits(b) }
        }
        return out
    }

    func testABatchedStreamIsBitIdenticalToTheStreamAloneOnAnyThreads() throws {
        for spec in Self.specs {
            let model = try Model(randomWeightsFor: try ArchitectureSpec.parse(spec), seed: 3)
            let steps = 37, rolls = frames(streams: 3, steps: steps)
            let together = run(model, streams: 3, threads: 1, rolls: rolls, steps: steps)
            XCTAssertEqual(run(model, streams: 3, threads: 2, rolls: rolls, steps: steps), together, spec)
            for b in 0..<3 {
                XCTAssertEqual(run(model, streams: 1, threads: 1, rolls: [rolls[b]], steps: steps)[0], together[b], "\(spec) stream \(b)")
            }
            XCTAssertNotEqual(together[0], together[1], "\(spec): the streams' inputs differ, so must their outputs")
        }
    }

    func testABatchedLanguageModelStreamIsBitIdenticalToItAlone() throws {
        for spec in ["sequnet-plain:vocabulary=49,embedding=12,features=16,levels=4,kernel=3",
                     "tcn:vocabulary=50,embedding=8,features=12,levels=3,kernel=3"] {
            let model = try Model(randomWeightsFor: try ArchitectureSpec.parse(spec), seed: 5)
            let steps = 29
            let tokens = (0..<4).map { s in (0..<steps).map { (7 * $0 + 11 * s) % 49 } }
            func run(_ streams: [[Int]], threads: Int) -> [[Float]] {
                let batch = model.makeBatch(count: streams.count, threads: threads)
                batch.startSequence(ofLength: steps)
                var out = [[Float]](repeating: [], count: streams.count)
                for t in 0..<steps {
                    batch.step(streams.map { $0[t] })
                    for b in streams.indices { out[b] += batch.logits(b) }
                }
                return out
            }
            let together = run(tokens, threads: 1)
            XCTAssertEqual(run(tokens, threads: 2), together, spec)
            for b in 0..<4 { XCTAssertEqual(run([tokens[b]], threads: 1)[0], together[b], "\(spec) stream \(b)") }
        }
    }

    /// The pre-roll the official evaluation implies: n - T zero frames, n the
    /// smallest b*2^(L-1) - (2^(L-1)-1) >= T with b >= 2.
    func testPreRollAlignsTheLastInputToATickOfEveryLevel() {
        let jsb = PlainSeqUNetConfig(features: 4, levels: 2, kernelSize: 3)
        XCTAssertEqual(jsb.prerollSteps(beforeSequenceOf: 100), 1)
        XCTAssertEqual(jsb.prerollSteps(beforeSequenceOf: 101), 0)
        XCTAssertEqual(jsb.prerollSteps(beforeSequenceOf: 1), 2)
        let nottingham = PlainSeqUNetConfig(features: 4, levels: 4, kernelSize: 5)
        XCTAssertEqual(nottingham.prerollSteps(beforeSequenceOf: 190), 3)
        XCTAssertEqual(nottingham.prerollSteps(beforeSequenceOf: 5), 4)   // n = 2*8 - 7 = 9
        for t in 1...100 {
            let n = t + nottingham.prerollSteps(beforeSequenceOf: t)
            XCTAssertEqual((n - 1) % 8, 0)
            XCTAssertGreaterThanOrEqual(n, 9)
            XCTAssertTrue(n - 8 < t || n == 9, "n=\(n) is not the smallest for T=\(t)")
        }
        XCTAssertEqual(TCNConfig(features: 4, levels: 2, kernelSize: 3).prerollSteps(beforeSequenceOf: 100), 0)
    }
}
