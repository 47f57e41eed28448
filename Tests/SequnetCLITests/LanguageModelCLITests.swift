import Foundation
import XCTest

/// The `sequnet` command on the paper's character-level language models
/// (the golden PTB fixtures): logits, the official windowed score, and text.
final class LanguageModelCLITests: XCTestCase {
    static let fixtures = ["char_sequnet_small", "char_tcn_small"]
    var scratch: URL!

    override func setUpWithError() throws { scratch = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }
    func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }
    var ptb: URL { CLI.packageRoot.appendingPathComponent("datasets/ptb") }

    func info(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: CLI.fixtures.appendingPathComponent("symbolic/\(name).json")))
            as? [String: Any] ?? [:]
    }

    func testLogitsOfFedTokensEndWithTheGoldenRows() throws {
        for name in Self.fixtures {
            let expected = floats(try Data(contentsOf: CLI.fixtures.appendingPathComponent("symbolic/\(name).logits.f32")))
            for checkpoint in [CLI.fixture("symbolic/\(name).state.pt"), CLI.fixture("symbolic/\(name).pt")] {
                let result = try CLI.run(["logits", "-m", checkpoint, "--feed-tokens", CLI.fixture("symbolic/\(name).feed.u16"), "-o", "-"])
                XCTAssertEqual(result.status, 0, result.stderr)
                let actual = floats(result.stdout)
                let window = try XCTUnwrap(try info(name)["window"] as? [String: Any])
                XCTAssertEqual(actual.count, (window["W"] as? Int ?? 0) * 49)
                let worst = zip(actual.suffix(expected.count), expected).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThanOrEqual(worst, 1e-4, checkpoint)
            }
        }
    }

    /// A vocabulary rebuilt from the PTB files, then the whole test text in
    /// the official protocol: the figure the reference's evaluation printed.
    func testScoreOfTheTestTextIsTheOfficialBitsPerCharacter() throws {
        for name in Self.fixtures {
            let converted = path("\(name).safetensors")
            let convert = try CLI.run(["convert", CLI.fixture("symbolic/\(name).state.pt"), converted, "--vocab-from-text",
                                       ptb.appendingPathComponent("ptb.train.txt").path, ptb.appendingPathComponent("ptb.valid.txt").path,
                                       ptb.appendingPathComponent("ptb.test.txt").path, "--token-level", "characters"])
            XCTAssertEqual(convert.status, 0, convert.stderr)
            let result = try CLI.run(["score", "-m", converted, ptb.appendingPathComponent("ptb.test.txt").path, "--json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
            XCTAssertEqual(object["metric"] as? String, "bits_per_character")
            let official = try XCTUnwrap(try info(name)["test_set_bpc_official_eval"] as? Double)
            XCTAssertEqual(try XCTUnwrap(object["value"] as? Double), official, accuracy: 1e-3, name)
            XCTAssertNotNil(object["continuous_value"] as? Double)

            let description = try CLI.run(["info", "-m", converted, "--json"])
            let facts = try XCTUnwrap(try JSONSerialization.jsonObject(with: description.stdout) as? [String: Any])
            XCTAssertEqual(facts["vocabulary_size"] as? Int, 49)
            XCTAssertEqual(facts["token_level"] as? String, "characters")
        }
    }

    func testGenerateStreamsTextThatContinuesThePrompt() throws {
        let converted = path("lm.safetensors")
        XCTAssertEqual(try CLI.run(["convert", CLI.fixture("symbolic/char_tcn_small.state.pt"), converted,
                                    "--vocab", CLI.fixture("symbolic/char_tcn_small.vocab.txt")]).status, 0)
        let run = { (seed: String) in try CLI.run(["generate", "-m", converted, "--prompt", "the market", "--tokens", "120",
                                                   "--seed", seed, "-o", "-"]) }
        let first = try run("4")
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdoutText.hasPrefix("the market"), first.stdoutText)
        XCTAssertFalse(first.stdoutText.contains("<eos>"), "line breaks are written as line breaks")
        XCTAssertEqual(try run("4").stdout, first.stdout, "same seed, same text")
        XCTAssertNotEqual(try run("5").stdout, first.stdout)

        for (arguments, fragment) in [
            (["generate", "-m", converted, "--prompt", "caf\u{e9}", "--tokens", "5", "-o", "-"], "vocabulary"),
            (["generate", "-m", CLI.fixture("symbolic/char_tcn_small.state.pt"), "--tokens", "5", "-o", "-"], "convert"),
            (["generate", "-m", converted, "--seconds", "1", "-o", "-"], "--tokens"),
        ] {
            let result = try CLI.run(arguments)
            XCTAssertNotEqual(result.status, 0)
            XCTAssertLessThan(result.status, 128)
            XCTAssertEqual(result.stderrLines.count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(fragment), "\(arguments): \(result.stderr)")
        }
    }

    /// Words: the 10,000-word vocabulary rebuilt from the PTB files, the test text's
    /// perplexity in word_cnn's protocol (batchify(test, 16), windows 117 / 45), and
    /// generated words separated by spaces with `<eos>` as a line break.
    func testWordModelsScorePerplexityAndGenerateWords() throws {
        for name in ["word_sequnet_tiny", "word_tcn_tiny"] {
            let converted = path("\(name).safetensors")
            let convert = try CLI.run(["convert", CLI.fixture("symbolic/\(name).state.pt"), converted, "--vocab-from-text",
                                       ptb.appendingPathComponent("ptb.train.txt").path, ptb.appendingPathComponent("ptb.valid.txt").path,
                                       ptb.appendingPathComponent("ptb.test.txt").path, "--token-level", "words"])
            XCTAssertEqual(convert.status, 0, convert.stderr)
            // (the TCN's test-set figure is checked in the engine's tests; one CLI run is enough here)
            if name == "word_sequnet_tiny" {
                let result = try CLI.run(["score", "-m", converted, ptb.appendingPathComponent("ptb.test.txt").path, "--json"])
                XCTAssertEqual(result.status, 0, result.stderr)
                let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
                XCTAssertEqual(object["metric"] as? String, "perplexity")
                let official = try XCTUnwrap(try info(name)["test_set_ppl_official_eval"] as? Double)
                XCTAssertEqual(try XCTUnwrap(object["value"] as? Double), official, accuracy: 1e-3 * official, name)
            }

            let text = try CLI.run(["generate", "-m", converted, "--prompt", "the company said", "--tokens", "40",
                                    "--seed", "2", "-o", "-"])
            XCTAssertEqual(text.status, 0, text.stderr)
            XCTAssertTrue(text.stdoutText.hasPrefix("the company said "), text.stdoutText)
            // every token is a word and its space, or a line break; the output ends with one more
            let words = text.stdoutText.split(whereSeparator: { $0 == " " || $0 == "\n" })
            let lineBreaks = text.stdoutText.filter { $0 == "\n" }.count
            XCTAssertEqual(words.count + lineBreaks - 1, 3 + 40, text.stdoutText)
            XCTAssertFalse(text.stdoutText.contains("<eos>"), "line breaks are written as line breaks")
            // an unknown word is echoed as the model read it
            let unknown = try CLI.run(["generate", "-m", converted, "--prompt", "the qwzx said", "--tokens", "3", "-o", "-"])
            XCTAssertEqual(unknown.status, 0, unknown.stderr)
            XCTAssertTrue(unknown.stdoutText.hasPrefix("the <unk> said "), unknown.stdoutText)
        }
    }
}
