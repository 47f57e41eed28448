import Foundation
import XCTest
import SequnetCheckpoint
@testable import SequnetEngine

/// The paper's character-level language models against the logits the
/// official code produced on one evaluation window of the PTB test text
/// (Tests/Fixtures/symbolic): the valid-mode plain Seq-U-Net with its clock
/// set so that the window's last token is a tick of every level, the TCN
/// from zero state. The golden rows are the window's last S outputs.
final class LanguageModelGoldenParityTests: XCTestCase {
    struct Fixture {
        let tokens: [Int]
        let logits: [Float]
        let info: [String: Any]

        init(_ name: String) throws {
            let raw = try Fixtures.bytes("symbolic/\(name).feed.u16")
            tokens = stride(from: 0, to: raw.count, by: 2).map { Int(raw[$0]) | Int(raw[$0 + 1]) << 8 }
            logits = try Fixtures.floats("symbolic/\(name).logits.f32")
            let data = try Data(contentsOf: Fixtures.directory.appendingPathComponent("symbolic/\(name).json"))
            info = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        }

        var window: [String: Any] { info["window"] as? [String: Any] ?? [:] }
        var scored: Int { window["S"] as? Int ?? 0 }
    }

    /// Every row of logits after feeding the fixture's window from zero state.
    func rows(_ model: Model, _ fixture: Fixture) -> [[Float]] {
        let stream = model.makeStream()
        stream.startSequence(ofLength: fixture.tokens.count)
        return fixture.tokens.map { token in
            stream.step(token)
            return Array(stream.logits)
        }
    }

    func check(_ name: String, expectedConfig: any ModelConfiguration) throws {
        let fixture = try Fixture(name)
        let model = try Model(contentsOf: Fixtures.path("symbolic/\(name).state.pt"))
        XCTAssertEqual(model.config.description, expectedConfig.description)
        XCTAssertEqual(model.parameterCount, fixture.info["parameters"] as? Int)
        let vocabulary = 49, all = rows(model, fixture)
        let scored = Array(all.suffix(fixture.scored)).flatMap { $0 }
        XCTAssertEqual(scored.count, fixture.logits.count)
        let error = zip(scored, fixture.logits).map { abs($0 - $1) }.max() ?? .infinity
        print("\(name) max abs error \(error)")
        XCTAssertLessThanOrEqual(error, 1e-4, name)
        // The window's cross-entropy as the reference reports it.
        var nats = 0.0
        let targets = Array(fixture.tokens.suffix(fixture.scored - 1)) + [fixture.window["next_token"] as? Int ?? -1]
        for (r, target) in targets.enumerated() {
            let row = scored[(r * vocabulary)..<((r + 1) * vocabulary)].map(Double.init)
            let peak = row.max()!
            nats += peak + log(row.reduce(0) { $0 + exp($1 - peak) }) - row[target]
        }
        XCTAssertEqual(nats / Double(targets.count), fixture.info["window_mean_ce_nats"] as? Double ?? 0, accuracy: 1e-4)
    }

    func testCharacterSeqUNetMatchesTheReference() throws {
        try check("char_sequnet_small", expectedConfig: PlainSeqUNetConfig.languageModel(
            vocabulary: 49, embedding: 32, features: 64, levels: 4, kernelSize: 3))
    }

    func testCharacterTCNMatchesTheReference() throws {
        try check("char_tcn_small", expectedConfig: TCNConfig.languageModel(
            vocabulary: 49, embedding: 32, features: 64, levels: 4, kernelSize: 3))
    }

    /// The valid-mode window's first token goes in at clock 4 for W = 397 with 4 levels.
    func testTheWindowClockMakesItsLastTokenATickOfEveryLevel() {
        let config = PlainSeqUNetConfig.languageModel(vocabulary: 49, embedding: 32, features: 64, levels: 4, kernelSize: 3)
        XCTAssertEqual(config.sequenceStartPhase(forLength: 397), 4)
        XCTAssertEqual(config.sequenceStartPhase(forLength: 117), 4)
        XCTAssertEqual(config.sequenceStartPhase(forLength: 9), 0)
        XCTAssertEqual(config.prerollSteps(beforeSequenceOf: 397), 0)
    }
}
