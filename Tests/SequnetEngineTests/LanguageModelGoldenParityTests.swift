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

    /// The window's mean cross-entropy (nats) over its scored rows, as the reference reports it:
    /// row r predicts the token after window position W-S+r (the last one predicts `next_token`).
    func meanCrossEntropy(_ scoredRows: [[Float]], _ fixture: Fixture) -> Double {
        let targets = Array(fixture.tokens.suffix(fixture.scored - 1)) + [fixture.window["next_token"] as? Int ?? -1]
        let nats = zip(scoredRows, targets).reduce(0.0) { sum, pair in
            let row = pair.0.map(Double.init), peak = row.max()!
            return sum + peak + log(row.reduce(0) { $0 + exp($1 - peak) }) - row[pair.1]
        }
        return nats / Double(targets.count)
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
        let rowsOfScored = (0..<fixture.scored).map { Array(scored[($0 * vocabulary)..<(($0 + 1) * vocabulary)]) }
        XCTAssertEqual(meanCrossEntropy(rowsOfScored, fixture), fixture.info["window_mean_ce_nats"] as? Double ?? 0, accuracy: 1e-4)
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

    // MARK: Words: V = 10,000, windows 117 / 45, the test text batchify'd into 16 rows

    /// The word-level engine against our PyTorch reference (tools/make_word_fixtures.py; the
    /// paper's code left no word-level fixture, and tools/lm_models.py is checked against it by
    /// `make lm-parity`): the last rows of one official test window, the window's cross-entropy,
    /// and the whole test set's perplexity in the official windowed protocol.
    func checkWords(_ name: String, expectedConfig: any ModelConfiguration) throws {
        let fixture = try Fixture(name)
        let model = try Model(contentsOf: Fixtures.path("symbolic/\(name).state.pt"))
        XCTAssertEqual(model.config.description, expectedConfig.description)
        XCTAssertEqual(model.parameterCount, fixture.info["parameters"] as? Int)
        let evaluation = try XCTUnwrap(WindowedEvaluation.official(for: model.config, level: .words))
        XCTAssertEqual([evaluation.length, evaluation.scored, evaluation.margin], [117, 45, 1])
        XCTAssertEqual(fixture.tokens.count, evaluation.length)

        let vocabulary = 10_000, all = rows(model, fixture)
        let logitRows = fixture.info["logit_rows"] as? Int ?? 0
        let tail = Array(all.suffix(logitRows)).flatMap { $0 }
        XCTAssertEqual(tail.count, fixture.logits.count)
        let error = zip(tail, fixture.logits).map { abs($0 - $1) }.max() ?? .infinity
        print("\(name) max abs error \(error)")
        XCTAssertLessThanOrEqual(error, 1e-4, name)

        let scored = Array(all.suffix(fixture.scored))
        XCTAssertEqual(meanCrossEntropy(scored, fixture), fixture.info["window_mean_ce_nats"] as? Double ?? 0, accuracy: 1e-4)
        XCTAssertEqual(scored.first?.count, vocabulary)

        // The whole test split, as word_cnn evaluates it: batchify(test, 16), every window of every row.
        let text = try String(contentsOf: PennTreebankTests.root.appendingPathComponent("ptb.test.txt"), encoding: .utf8)
        let vocabularyFromText = PennTreebank.vocabulary(
            train: try String(contentsOf: PennTreebankTests.root.appendingPathComponent("ptb.train.txt"), encoding: .utf8),
            valid: try String(contentsOf: PennTreebankTests.root.appendingPathComponent("ptb.valid.txt"), encoding: .utf8),
            test: text, level: .words)
        let ids = try PennTreebank.symbols(of: text, level: .words).map { try XCTUnwrap(vocabularyFromText.token(of: $0)) }
        let rowLength = ids.count / 16
        let rows16 = (0..<16).map { Array(ids[($0 * rowLength)..<(($0 + 1) * rowLength)]) }
        XCTAssertEqual(rows16[fixture.window["row"] as? Int ?? 0][fixture.window["offset_in_row"] as? Int ?? 0], fixture.tokens[0])
        let score = try XCTUnwrap(model.score(windowsOf: rows16, evaluation: evaluation, batch: 16))
        XCTAssertEqual(score.count, fixture.info["test_set_scored_tokens"] as? Int)
        XCTAssertEqual(score.natsPerToken, fixture.info["test_set_ce_official_eval"] as? Double ?? 0, accuracy: 1e-4)
    }

    func testWordSeqUNetMatchesTheReferenceImplementation() throws {
        try checkWords("word_sequnet_tiny", expectedConfig: PlainSeqUNetConfig.languageModel(
            vocabulary: 10_000, embedding: 16, features: 16, levels: 4, kernelSize: 3))
    }

    func testWordTCNMatchesTheReferenceImplementation() throws {
        try checkWords("word_tcn_tiny", expectedConfig: TCNConfig.languageModel(
            vocabulary: 10_000, embedding: 16, features: 16, levels: 4, kernelSize: 3))
    }
}
