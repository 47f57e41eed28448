import Foundation
import XCTest
import SequnetCheckpoint
@testable import SequnetEngine

/// The paper's music models against the logits the official code produced on
/// a real JSB test chorale (Tests/Fixtures/symbolic): the plain Seq-U-Net
/// after its zero-frame pre-roll, the TCN from zero state.
final class MusicGoldenParityTests: XCTestCase {
    static let tolerance: Float = 1e-4

    struct Fixture {
        let name: String
        let frames: Int
        let feed: [UInt8]
        let logits: [Float]
        let info: [String: Any]

        init(_ name: String) throws {
            self.name = name
            feed = try Fixtures.bytes("symbolic/\(name).feed.u8")
            logits = try Fixtures.floats("symbolic/\(name).logits.f32")
            let data = try Data(contentsOf: Fixtures.directory.appendingPathComponent("symbolic/\(name).json"))
            info = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
            frames = feed.count / PianoRoll.keys
        }

        var preroll: Int { (info["alignment"] as? [String: Any])?["preroll_zero_frames"] as? Int ?? -1 }
    }

    /// The largest difference from the golden logits, feeding the fixture's frames one at a time.
    func maxError(_ model: Model, _ fixture: Fixture) -> Float {
        let stream = model.makeStream()
        stream.startSequence(ofLength: fixture.frames)
        var worst: Float = 0
        for t in 0..<fixture.frames {
            let frame = fixture.feed[(t * 88)..<((t + 1) * 88)].map { Float($0) }
            stream.step(vector: frame)
            for k in 0..<88 { worst = max(worst, abs(stream.logits[k] - fixture.logits[t * 88 + k])) }
        }
        return worst
    }

    func testPlainSeqUNetMatchesTheReferenceFromItsStateDict() throws {
        let fixture = try Fixture("music_sequnet_jsb")
        let model = try Model(contentsOf: Fixtures.path("symbolic/music_sequnet_jsb.state.pt"))
        XCTAssertEqual(model.config as? PlainSeqUNetConfig,
                       PlainSeqUNetConfig(features: 175, levels: 2, kernelSize: 3, padded: true))
        XCTAssertEqual(model.parameterCount, fixture.info["parameters"] as? Int)
        XCTAssertEqual(model.config.prerollSteps(beforeSequenceOf: fixture.frames), fixture.preroll)
        let error = maxError(model, fixture)
        print("music_sequnet_jsb max abs error \(error)")
        XCTAssertLessThanOrEqual(error, Self.tolerance)
    }

    func testTCNMatchesTheReferenceFromItsStateDict() throws {
        let fixture = try Fixture("music_tcn_jsb")
        let model = try Model(contentsOf: Fixtures.path("symbolic/music_tcn_jsb.state.pt"))
        XCTAssertEqual(model.config as? TCNConfig, TCNConfig(features: 220, levels: 2, kernelSize: 3))
        // weight_g, weight_v and bias of each conv, the downsample and the
        // linear layer: the net.0 / net.4 duplicates are the same tensors.
        XCTAssertEqual(model.parameterCount, fixture.info["parameters"] as? Int)
        XCTAssertEqual(model.config.prerollSteps(beforeSequenceOf: fixture.frames), fixture.preroll)
        let error = maxError(model, fixture)
        print("music_tcn_jsb max abs error \(error)")
        XCTAssertLessThanOrEqual(error, Self.tolerance)
    }

    /// The official per-sequence NLL: the fed frames plus the final target frame.
    func testSequenceNLLMatchesTheOfficialEvaluation() throws {
        for name in ["music_sequnet_jsb", "music_tcn_jsb"] {
            let fixture = try Fixture(name)
            let model = try Model(contentsOf: Fixtures.path("symbolic/\(name).state.pt"))
            var frames = fixture.feed.map { Float($0) }
            var last = [Float](repeating: 0, count: 88)
            for note in (fixture.info["data"] as? [String: Any])?["last_target_active_keys"] as? [Int] ?? [] { last[note] = 1 }
            frames += last
            var bad = -1
            let score = try XCTUnwrap(frames.withUnsafeBufferPointer {
                model.makeStream().score(frames: $0, frameCount: fixture.frames + 1, badFrame: &bad)
            })
            XCTAssertEqual(score.frames, 100)
            XCTAssertEqual(score.natsPerFrame, fixture.info["nll_per_frame"] as? Double ?? 0, accuracy: 1e-4, name)
        }
    }

    /// Exporting (what `convert` writes) and loading again gives the same model, bit for bit.
    func testExportedWeightsRebuildTheSameModel() throws {
        for name in ["music_sequnet_jsb", "music_tcn_jsb"] {
            let fixture = try Fixture(name)
            let model = try Model(contentsOf: Fixtures.path("symbolic/\(name).state.pt"))
            let again = try Model(stateDict: model.exportStateDict())
            let a = logits(model, fixture), b = logits(again, fixture)
            XCTAssertEqual(a, b, name)
            XCTAssertEqual(again.exportStateDict().tensors, model.exportStateDict().tensors, name)
        }
    }

    /// Reduced precisions stay close to float32 on real data (their measured cost is in the README).
    func testReducedPrecisionsStayClose() throws {
        for name in ["music_sequnet_jsb", "music_tcn_jsb"] {
            let fixture = try Fixture(name)
            for precision in [MatrixPrecision.bf16, .int8] {
                let model = try Model(contentsOf: Fixtures.path("symbolic/\(name).state.pt"), precision: precision)
                let error = zip(logits(model, fixture), fixture.logits).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThan(error, 0.05, "\(name) \(precision)")
                XCTAssertGreaterThan(error, 0, "\(name) \(precision) rounds nothing")
            }
        }
    }

    func logits(_ model: Model, _ fixture: Fixture) -> [Float] {
        let stream = model.makeStream()
        stream.startSequence(ofLength: fixture.frames)
        var all: [Float] = []
        for t in 0..<fixture.frames {
            stream.step(vector: fixture.feed[(t * 88)..<((t + 1) * 88)].map { Float($0) })
            all += stream.logits
        }
        return all
    }
}
