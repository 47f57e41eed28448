import XCTest
@testable import SequnetEngine

/// A batch of B streams is one state stepped with B inputs at a time; each
/// layer is one product over the batch. Stream b of a batch computes exactly
/// what a state of its own computes.
final class BatchTests: XCTestCase {
    func check(_ model: Model, batch: Int, steps: Int, phase: Int) {
        let batched = model.weights.makeState(batch: batch)
        let singles = (0..<batch).map { _ in model.weights.makeState(batch: 1) }
        batched.reset(phase: phase)
        for s in singles { s.reset(phase: phase) }
        let outputs = model.config.output.count
        var rng = SeededGenerator(seed: UInt64(batch * 100 + phase))
        var inputs = [Int](repeating: 0, count: batch)
        for t in 0..<steps {
            for b in 0..<batch { inputs[b] = Int(rng.next() % 256) }
            batched.step(inputs)
            for b in 0..<batch {
                singles[b].step([inputs[b]])
                let mine = Array(UnsafeBufferPointer(start: batched.outputs + b * outputs, count: outputs))
                let alone = Array(UnsafeBufferPointer(start: singles[b].outputs, count: outputs))
                if mine != alone {
                    XCTFail("\(model.config): stream \(b) of \(batch) differs at step \(t)")
                    return
                }
            }
        }
        XCTAssertEqual(batched.stateBytes > singles[0].stateBytes, batch > 1)
        // What `info` reports without building a state is what a state holds.
        XCTAssertEqual(batched.stateBytes, model.config.streamStateBytes(batch: batch))
        XCTAssertEqual(singles[0].stateBytes, model.config.streamStateBytes(batch: 1))
    }

    func testEveryStreamOfASeqUNetBatchIsBitIdenticalToItsOwnStream() throws {
        let model = try Fixtures.model("sequnet_c24_l5_d2_k3")
        check(model, batch: 3, steps: 70, phase: 5)
        // Six: a block of four streams (the AVX-512 kernel's) and two more.
        check(model, batch: 6, steps: 70, phase: 3)
        check(model, batch: 1, steps: 20, phase: 0)
        // Nine: two blocks of four, which also read ahead into the next panel, and one more.
        // Thirteen: with 24 channels every second panel is narrow (8 live
        // channels), which AVX-512 computes eight streams at a time; then a
        // block of four full rows, and one more.
        for precision in MatrixPrecision.allCases {
            let model = try Model(contentsOf: Fixtures.path("sequnet_c24_l5_d2_k3.pt"), precision: precision)
            check(model, batch: 9, steps: 70, phase: 1)
            check(model, batch: 13, steps: 40, phase: 2)
        }
    }

    func testEveryStreamOfAWaveNetBatchIsBitIdenticalToItsOwnStream() throws {
        check(try Fixtures.model("wavenet_l4_b2_r16_d16_s32"), batch: 4, steps: 40, phase: 0)
    }
}
