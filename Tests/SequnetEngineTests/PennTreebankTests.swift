import Foundation
import XCTest
@testable import SequnetEngine

/// The Penn Treebank as the paper's char_cnn and word_cnn read it: the
/// vocabularies rebuilt from the three files and the official windows.
final class PennTreebankTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("datasets/ptb")

    func text(_ split: String) throws -> String {
        try String(contentsOf: Self.root.appendingPathComponent("ptb.\(split).txt"), encoding: .utf8)
    }

    func testCharacterVocabularyIsTheReferencesInItsOrder() throws {
        let vocabulary = PennTreebank.vocabulary(train: try text("train"), valid: try text("valid"), test: try text("test"),
                                                 level: .characters)
        let fixture = try String(contentsOf: Fixtures.directory.appendingPathComponent("symbolic/char_sequnet_small.vocab.txt"),
                                 encoding: .utf8)
        var lines = fixture.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        XCTAssertEqual(vocabulary.symbols, lines)
        XCTAssertEqual(vocabulary.count, 49)
        XCTAssertEqual(PennTreebank.characters(of: try text("test")).count, 464_989)
    }

    func testWordVocabularyNumbersWordsAtFirstSight() throws {
        let vocabulary = PennTreebank.vocabulary(train: try text("train"), valid: try text("valid"), test: try text("test"),
                                                 level: .words)
        XCTAssertEqual(vocabulary.count, 10_000)
        XCTAssertEqual(vocabulary.symbols[0], "aer")
        XCTAssertEqual(vocabulary.symbols[24], "<eos>")
        XCTAssertEqual(vocabulary.symbols[26], "<unk>")
        XCTAssertEqual(vocabulary.symbols[32], "the")
        XCTAssertEqual(vocabulary.symbols[9999], "unilab")
        XCTAssertEqual(PennTreebank.words(of: try text("test")).count, 82_430)
    }

    /// The valid-mode Seq-U-Net's window sizes for the requested outputs (k=3, L=4).
    func testValidWindowSizesAreTheReferences() {
        let config = PlainSeqUNetConfig.languageModel(vocabulary: 49, embedding: 32, features: 64, levels: 4, kernelSize: 3)
        XCTAssertEqual(config.validWindow(forOutputs: 320).map { [$0.length, $0.scored] }, [397, 325])
        XCTAssertEqual(config.validWindow(forOutputs: 45).map { [$0.length, $0.scored] }, [117, 45])
        let evaluation = WindowedEvaluation(length: 397, scored: 325, margin: 0)
        XCTAssertEqual(evaluation.starts(inStreamOf: 1000), [0, 325])   // 650 + 397 >= 1000
    }
}
