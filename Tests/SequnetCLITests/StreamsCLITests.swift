import Foundation
import SequnetAudio
import XCTest

/// Issue 15, part one: `generate --streams N` steps N streams as one batch,
/// and stream i is the same bytes as generating it alone with seed S+i-1.
final class StreamsCLITests: XCTestCase {
    let tiny = CLI.fixture("checkpoints/tiny_sequnet_c4_l2_d1_k3.safetensors")
    var scratch: URL!

    override func setUpWithError() throws { scratch = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }
    func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

    func generate(_ arguments: [String]) throws {
        let result = try CLI.run(["generate", "-m", tiny, "--samples", "3000"] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    func bytes(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    func testEachStreamOfABatchIsTheFileGeneratedAloneWithItsSeed() throws {
        try generate(["--streams", "3", "--seed", "10", "-o", path("out.wav")])
        for i in 1...3 {
            try generate(["--seed", String(9 + i), "-o", path("alone-\(i).wav")])
            XCTAssertEqual(try bytes("out-\(i).wav"), try bytes("alone-\(i).wav"), "stream \(i)")
        }
        XCTAssertNotEqual(try bytes("out-1.wav"), try bytes("out-2.wav"))
        // A %d pattern names the files instead.
        try generate(["--streams", "2", "--seed", "10", "-o", path("take%d.wav")])
        XCTAssertEqual(try bytes("take2.wav"), try bytes("out-2.wav"))
    }

    func testPromptsGoOnePerStreamOrOneForAll() throws {
        // Two prompts of different lengths, from the tiny model's own output.
        try generate(["--seed", "1", "-o", path("p1.wav")])
        let short = try CLI.run(["generate", "-m", tiny, "--samples", "700", "--seed", "2", "-o", path("p2.wav")])
        XCTAssertEqual(short.status, 0, short.stderr)
        try generate(["--streams", "2", "--seed", "5", "--prompt", path("p1.wav"), "--prompt", path("p2.wav"), "-o", path("b.wav")])
        try generate(["--seed", "5", "--prompt", path("p1.wav"), "-o", path("a1.wav")])
        try generate(["--seed", "6", "--prompt", path("p2.wav"), "-o", path("a2.wav")])
        XCTAssertEqual(try bytes("b-1.wav"), try bytes("a1.wav"))
        XCTAssertEqual(try bytes("b-2.wav"), try bytes("a2.wav"))
        try generate(["--streams", "2", "--seed", "5", "--prompt", path("p2.wav"), "-o", path("c.wav")])
        XCTAssertEqual(try bytes("c-2.wav"), try bytes("a2.wav"), "one prompt for all, stream 2 seeded 6")

        let wrong = try CLI.run(["generate", "-m", tiny, "--streams", "3", "--prompt", path("p1.wav"), "--prompt", path("p2.wav"),
                                 "-o", path("x.wav")])
        assertOneLineError(wrong, mentions: "give --prompt once for all streams or 3 times, not 2")
        let stdout = try CLI.run(["generate", "-m", tiny, "--streams", "2", "-o", "-"])
        assertOneLineError(stdout, mentions: "with --streams, -o must name files")
    }

    func testTimeToTheFirstSampleIsReported() throws {
        let result = try CLI.run(["generate", "-m", tiny, "--samples", "100", "-o", path("x.wav")])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderrLines.contains { $0.hasPrefix("first sample after ") && $0.contains("ms (priming ") },
                      result.stderr)
        let bench = try CLI.run(["bench", "-m", tiny, "--prompt-samples", "500", "--streams", "2", "--samples", "256",
                                 "--repeats", "1", "--no-replay", "--json"])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: bench.stdout) as? [String: Any])
        XCTAssertEqual(report["prompt_samples"] as? Int, 500)
        XCTAssertGreaterThan(try XCTUnwrap(report["time_to_first_sample_ms"] as? Double), 0)
        XCTAssertGreaterThan(try XCTUnwrap(report["prefill_samples_per_second"] as? Double), 0)
        XCTAssertEqual(report["streams"] as? Int, 2)
        let perStream = try XCTUnwrap(report["samples_per_second_per_stream"] as? Double)
        XCTAssertEqual(try XCTUnwrap(report["samples_per_second"] as? Double), 2 * perStream, accuracy: perStream * 1e-9)
    }

    /// Issue 15, item 3: only the prompt's last input-size samples matter, so
    /// only they are read into memory, and they are what the output echoes.
    func testOnlyThePromptsTailIsHeardEchoedAndHeld() throws {
        let info = try CLI.run(["info", "-m", tiny, "--json"])
        let inputSize = try XCTUnwrap((try JSONSerialization.jsonObject(with: info.stdout) as? [String: Any])?["input_size"] as? Int)
        let long = (0..<(inputSize * 40 + 7)).map { Int16(truncatingIfNeeded: ($0 * 7919) % 20000 - 10000) }
        for (name, samples) in [("long.wav", long), ("tail.wav", Array(long.suffix(inputSize)))] {
            let writer = try WAVWriter(path: path(name), sampleRate: 16_000)
            try writer.write(samples)
            try writer.close()
        }
        try generate(["--seed", "4", "--prompt", path("long.wav"), "-o", path("from-long.wav")])
        try generate(["--seed", "4", "--prompt", path("tail.wav"), "-o", path("from-tail.wav")])
        XCTAssertEqual(try bytes("from-long.wav"), try bytes("from-tail.wav"))
        XCTAssertEqual(try readMonoAudio(atPath: path("from-long.wav")).samples.count, inputSize + 3000)
        // At another rate the tail is resampled on the same grid: a prompt of 40 input sizes
        // at 44.1 kHz still gives input size + continuation.
        let writer = try WAVWriter(path: path("long44.wav"), sampleRate: 44_100)
        try writer.write(long)
        try writer.close()
        try generate(["--seed", "4", "--prompt", path("long44.wav"), "-o", path("from-44.wav")])
        XCTAssertEqual(try readMonoAudio(atPath: path("from-44.wav")).samples.count, inputSize + 3000)
    }
}
