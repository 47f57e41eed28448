import Foundation
import SequnetAudio
import XCTest

/// The `sequnet` command on the paper's music models (the golden JSB
/// fixtures): logits and scores as the official code computes them, and
/// generated pieces as MIDI, piano-roll text and rendered audio.
final class MusicCLITests: XCTestCase {
    static let fixtures = ["music_sequnet_jsb", "music_tcn_jsb"]
    let seqUNet = CLI.fixture("symbolic/music_sequnet_jsb.state.pt")
    var scratch: URL!

    override func setUpWithError() throws { scratch = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }
    func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

    /// Both checkpoint forms users have: the whole pickled module the
    /// official train.py saves, and the state dict.
    func checkpoints(_ name: String) -> [String] {
        [CLI.fixture("symbolic/\(name).state.pt"), CLI.fixture("symbolic/\(name).pt")]
    }

    func testLogitsOfFedFramesReproduceTheGoldenFiles() throws {
        for name in Self.fixtures {
            let expected = floats(try Data(contentsOf: CLI.fixtures.appendingPathComponent("symbolic/\(name).logits.f32")))
            for checkpoint in checkpoints(name) {
                let result = try CLI.run(["logits", "-m", checkpoint, "--feed-frames", CLI.fixture("symbolic/\(name).feed.u8"), "-o", "-"])
                XCTAssertEqual(result.status, 0, result.stderr)
                let actual = floats(result.stdout)
                XCTAssertEqual(actual.count, 100 * 88, checkpoint)
                XCTAssertLessThanOrEqual(zip(actual, expected).map { abs($0 - $1) }.max() ?? .infinity, 1e-4, checkpoint)
            }
        }
    }

    /// The official evaluation of each fixture on the whole JSB test split
    /// (`test_set_nll_official_eval` in its JSON).
    func testScoreOfTheTestSplitIsTheOfficialFigure() throws {
        for name in Self.fixtures {
            let info = try JSONSerialization.jsonObject(
                with: Data(contentsOf: CLI.fixtures.appendingPathComponent("symbolic/\(name).json"))) as? [String: Any]
            let official = try XCTUnwrap(info?["test_set_nll_official_eval"] as? Double)
            let test = CLI.packageRoot.appendingPathComponent("datasets/music/jsb_test.txt").path
            let result = try CLI.run(["score", "-m", CLI.fixture("symbolic/\(name).state.pt"), test, "--json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
            XCTAssertEqual(object["sequences"] as? Int, 77)
            XCTAssertEqual(object["frames"] as? Int, 4_725 - 77)
            XCTAssertEqual(try XCTUnwrap(object["nll_per_frame"] as? Double), official, accuracy: 1e-3, name)
        }
    }

    func testGenerateWritesTextMIDIAndAudioOfTheSamePiece() throws {
        let text = try CLI.run(["generate", "-m", seqUNet, "--steps", "24", "--seed", "5", "-o", "-"])
        XCTAssertEqual(text.status, 0, text.stderr)
        let lines = text.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, 1 + 24, "a comment line, then one line per frame")
        XCTAssertTrue(lines.first?.hasPrefix("#") ?? false)
        for line in lines.dropFirst() {
            for token in line.split(separator: " ") { XCTAssertTrue((21...108).contains(Int(token) ?? 0), String(line)) }
        }
        XCTAssertTrue(lines.dropFirst().contains { !$0.isEmpty }, "some frame sounds")

        let file = path("piece.txt")
        XCTAssertEqual(try CLI.run(["generate", "-m", seqUNet, "--steps", "24", "--seed", "5", "-o", file]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), text.stdoutText, "same seed, same piece")
        let other = try CLI.run(["generate", "-m", seqUNet, "--steps", "24", "--seed", "6", "-o", "-"])
        XCTAssertNotEqual(other.stdoutText, text.stdoutText)

        let midi = path("piece.mid")
        XCTAssertEqual(try CLI.run(["generate", "-m", seqUNet, "--steps", "24", "--seed", "5", "-o", midi]).status, 0)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: midi)).prefix(4)), Array("MThd".utf8))
        // A MIDI prompt quantised back to the grid is the piece itself: the
        // continuation of it starts with its 24 frames.
        let continued = try CLI.run(["generate", "-m", seqUNet, "--prompt", midi, "--steps", "4", "--seed", "1", "-o", "-"])
        XCTAssertEqual(continued.status, 0, continued.stderr)
        let continuedLines = continued.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).dropLast().dropFirst()
        XCTAssertEqual(Array(continuedLines.prefix(24)), Array(lines.dropFirst()))
        XCTAssertEqual(continuedLines.count, 28)

        let wav = path("piece.wav")
        let rendered = try CLI.run(["generate", "-m", seqUNet, "--steps", "8", "--seed", "5", "--step-duration", "0.25", "-o", wav])
        XCTAssertEqual(rendered.status, 0, rendered.stderr)
        let audio = try readMonoAudio(atPath: wav)
        XCTAssertEqual(Double(audio.samples.count) / Double(audio.sampleRate), 8 * 0.25 + 1, accuracy: 0.05, "the frames plus a 1 s release")
        XCTAssertGreaterThan(audio.samples.map(abs).max() ?? 0, 0.01, "audible piano")
    }

    func testMusicOptionsAreRefusedWithOneLineErrors() throws {
        for (arguments, fragment) in [
            (["generate", "-m", seqUNet, "--steps", "4", "-o", path("x.flac")], "OUT.mid"),
            (["generate", "-m", seqUNet, "--seconds", "1", "-o", path("x.mid")], "--steps"),
            (["generate", "-m", seqUNet, "--steps", "4", "--min-p", "0.1", "-o", "-"], "--min-p"),
            (["logits", "-m", seqUNet, "--prompt-classes", CLI.fixture("sequnet_c16_l4_d1_k5.prompt.u8"),
              "--feed-classes", CLI.fixture("sequnet_c16_l4_d1_k5.steps.u8"), "-o", "-"], "--feed-frames"),
            (["logits", "-m", CLI.fixture("sequnet_c16_l4_d1_k5.pt"), "--feed-frames", CLI.fixture("symbolic/music_tcn_jsb.feed.u8"),
              "-o", "-"], "piano-roll"),
            (["logits", "-m", seqUNet, "--feed-frames", CLI.fixture("sequnet_c16_l4_d1_k5.prompt.u8"), "-o", "-"], "frame"),
            (["stream", "-m", seqUNet], "generate -o -"),
        ] {
            let result = try CLI.run(arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertLessThan(result.status, 128)
            XCTAssertEqual(result.stderrLines.count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(fragment), "\(arguments): \(result.stderr)")
        }
    }

    func testInfoAndBenchSpeakFrames() throws {
        let info = try CLI.run(["info", "-m", seqUNet])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdoutText.contains("88-key piano roll"), info.stdoutText)
        XCTAssertTrue(info.stdoutText.contains("per frame"), info.stdoutText)
        let bench = try CLI.run(["bench", "-m", seqUNet, "--samples", "64", "--repeats", "1", "--json"])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: bench.stdout) as? [String: Any])
        XCTAssertEqual(object["step_unit"] as? String, "frame")
        XCTAssertGreaterThan(object["samples_per_second"] as? Double ?? 0, 0)
        XCTAssertTrue(object["real_time_factor"] is NSNull)
    }
}
