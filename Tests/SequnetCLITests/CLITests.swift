import Foundation
import SequnetAudio
import XCTest

/// End-to-end tests of the `sequnet` command on the fixture checkpoints.
final class CLITests: XCTestCase {
    let c16 = CLI.fixture("sequnet_c16_l4_d1_k5.pt")
    var scratch: URL!

    override func setUpWithError() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                      "no sequnet executable at \(CLI.executable.path)")
        scratch = try CLI.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

    // MARK: generate

    func testGenerateWritesMono16kWAVOfRequestedLength() throws {
        let out = path("out.wav")
        let result = try CLI.run(["generate", "-m", c16, "--samples", "2000", "-o", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.isEmpty, "generate to a file must keep stdout empty")
        let audio = try readMonoAudio(atPath: out)
        XCTAssertEqual(audio.sampleRate, 16_000)
        XCTAssertEqual(audio.sourceChannels, 1)
        XCTAssertEqual(audio.samples.count, 2000)
    }

    func testGenerateWithPromptWritesPromptThenContinuation() throws {
        // 0.1 s of a 440 Hz tone at 44.1 kHz, stereo.
        let prompt = path("prompt.wav")
        let writer = try WAVWriter(path: prompt, sampleRate: 44_100, channels: 2)
        var frames: [Int16] = []
        for i in 0..<4410 {
            let v = pcm16(0.4 * sin(2 * .pi * 440 * Float(i) / 44_100))
            frames += [v, v / 2]
        }
        try writer.write(frames)
        try writer.close()
        let promptLength = try readMonoAudio(atPath: prompt, resampledTo: 16_000).samples.count
        XCTAssertEqual(promptLength, 1600, accuracy: 2)

        let out = path("out.wav")
        let result = try CLI.run(["generate", "-m", c16, "--prompt", prompt, "--samples", "500", "-o", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        let audio = try readMonoAudio(atPath: out)
        XCTAssertEqual(audio.sampleRate, 16_000)
        // The output echoes what the model heard: the prompt's last input-size
        // samples (149 for this fixture), then the continuation.
        XCTAssertEqual(audio.samples.count, min(promptLength, 149) + 500)
    }

    func testRawStdoutHasTwoBytesPerSample() throws {
        let generated = try CLI.run(["generate", "-m", c16, "--samples", "1500", "-o", "-"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        XCTAssertEqual(generated.stdout.count, 3000)

        let streamed = try CLI.run(["stream", "-m", c16, "--seconds", "0.25"])
        XCTAssertEqual(streamed.status, 0, streamed.stderr)
        XCTAssertEqual(streamed.stdout.count, 8000)
    }

    func testSameSeedSameAudioDifferentSeedDifferentAudio() throws {
        func audio(seed: Int) throws -> Data {
            let result = try CLI.run(["generate", "-m", c16, "--samples", "1000", "--seed", "\(seed)", "-o", "-"])
            XCTAssertEqual(result.status, 0, result.stderr)
            return result.stdout
        }
        let first = try audio(seed: 7), again = try audio(seed: 7), other = try audio(seed: 8)
        XCTAssertEqual(first, again)
        XCTAssertNotEqual(first, other)
    }

    func testStreamIntoClosedPipeEndsQuietly() throws {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["stream", "-m", c16]   // endless
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let head = out.fileHandleForReading.readData(ofLength: 4096)
        XCTAssertEqual(head.count, 4096)
        try out.fileHandleForReading.close()         // the listener goes away
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        XCTAssertFalse(stderr.contains("error"), stderr)
    }

    func testInterruptFinalisesWAVAndExitsOne() throws {
        let out = path("long.wav")
        let process = Process()
        process.executableURL = CLI.executable
        // The tiny model: a debug build writes 10 kB in a fraction of a second.
        process.arguments = ["generate", "-m", CLI.fixture("checkpoints/tiny_sequnet_c4_l2_d1_k3.safetensors"),
                             "--seconds", "600", "-o", out]
        process.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        process.standardError = err
        try process.run()
        // Wait until some audio is on disk, then ask it to stop.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? nil
            if (size ?? 0) > 10_000 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.interrupt()   // SIGINT
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 1, stderr)
        XCTAssertTrue(stderr.contains("interrupted: wrote"), stderr)
        let audio = try readMonoAudio(atPath: out)
        XCTAssertGreaterThan(audio.samples.count, 0)
        let bytes = try FileManager.default.attributesOfItem(atPath: out)[.size] as! Int
        XCTAssertEqual(bytes, 44 + 2 * audio.samples.count, "header must match the data")
    }

    // MARK: logits, score, info, convert

    func testLogitsReproduceGoldenFixtures() throws {
        for (name, extra) in [("sequnet_c16_l4_d1_k5", [String]()), ("sequnet_c24_l5_d2_k3", []),
                              ("wavenet_l4_b2_r16_d16_s32", ["--wavenet-layers", "4"])] {
            let result = try CLI.run(["logits", "-m", CLI.fixture("\(name).pt")] + extra + [
                "--prompt-classes", CLI.fixture("\(name).prompt.u8"),
                "--feed-classes", CLI.fixture("\(name).steps.u8"), "-o", "-"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let expected = floats(try Data(contentsOf: CLI.fixtures.appendingPathComponent("\(name).logits.f32")))
            let actual = floats(result.stdout)
            XCTAssertEqual(actual.count, expected.count, name)
            let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(worst, 1e-4, name)
        }
    }

    func testScorePrintsFinitePositiveBitsPerSample() throws {
        let recording = path("rec.wav")
        XCTAssertEqual(try CLI.run(["generate", "-m", c16, "--samples", "800", "--seed", "3", "-o", recording]).status, 0)
        let text = try CLI.run(["score", "-m", c16, recording])
        XCTAssertEqual(text.status, 0, text.stderr)
        let number = Double(text.stdoutText.split(separator: " ").first.map(String.init) ?? "")
        XCTAssertNotNil(number, text.stdoutText)
        XCTAssertTrue(number.map { $0.isFinite && $0 > 0 } ?? false, text.stdoutText)

        let json = try CLI.run(["score", "-m", c16, recording, "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any]
        XCTAssertEqual(object?["samples"] as? Int, 800)
        XCTAssertEqual((object?["bits_per_sample"] as? Double).map { abs($0 - number!) < 1e-3 }, true)
    }

    func testInfoReportsReferenceInputSize() throws {
        let text = try CLI.run(["info", "-m", c16])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdoutText.contains("input size:"), text.stdoutText)
        XCTAssertTrue(text.stdoutText.contains("149 samples"), text.stdoutText)
        let json = try CLI.run(["info", "-m", c16, "--json"])
        let object = try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any]
        XCTAssertEqual(object?["input_size"] as? Int, 149)
        XCTAssertEqual(object?["parameters"] as? Int, 66_224)
    }

    func testConvertedSafetensorsGiveTheSameLogits() throws {
        for (name, extra) in [("sequnet_c16_l4_d1_k5", [String]()), ("wavenet_l4_b2_r16_d16_s32", ["--wavenet-layers", "4"])] {
            let converted = path("\(name).safetensors")
            let convert = try CLI.run(["convert", CLI.fixture("\(name).pt"), converted] + extra)
            XCTAssertEqual(convert.status, 0, convert.stderr)
            let classes = ["--prompt-classes", CLI.fixture("\(name).prompt.u8"),
                           "--feed-classes", CLI.fixture("\(name).steps.u8"), "-o", "-"]
            let original = try CLI.run(["logits", "-m", CLI.fixture("\(name).pt")] + extra + classes)
            // No --wavenet-layers: the safetensors metadata records the layout.
            let roundTrip = try CLI.run(["logits", "-m", converted] + classes)
            XCTAssertEqual(roundTrip.status, 0, roundTrip.stderr)
            XCTAssertEqual(original.stdout.count, 301 * 256 * 4)
            XCTAssertEqual(roundTrip.stdout, original.stdout, name)
        }
    }

    // MARK: bench

    func testBenchJSONReportsSpeedLatencyAndTheBoundsInputs() throws {
        // Only the report's shape and internal consistency: speed is for benchmarks.
        let svg = path("latency.svg")
        let result = try CLI.run(["bench", "--arch", "sequnet:features=8,levels=3,depth=1,kernel=3",
                                  "--samples", "256", "--repeats", "1", "--json", "--histogram", svg])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let speed = try XCTUnwrap(object["samples_per_second"] as? Double)
        XCTAssertGreaterThan(speed, 0)
        XCTAssertEqual(try XCTUnwrap(object["real_time_factor"] as? Double), speed / 16_000, accuracy: 1e-9 * speed)
        let latency = try XCTUnwrap(object["latency_us"] as? [String: Double])
        let percentiles = try ["p50", "p90", "p99", "p999", "max"].map { try XCTUnwrap(latency[$0], $0) }
        XCTAssertEqual(percentiles, percentiles.sorted(), "percentiles must not decrease: \(latency)")
        // Levels 0, 1 and 2 each tick; each level's ticks are counted once.
        let ticks = try XCTUnwrap(object["tick_cost_us"] as? [[String: Any]])
        XCTAssertEqual(ticks.compactMap { $0["level"] as? Int }, [0, 1, 2])
        XCTAssertEqual(ticks.compactMap { $0["steps"] as? Int }.reduce(0, +), 256)
        // The bound's groups: one per clock period, their reads adding up to the per-sample total.
        let groups = try XCTUnwrap(object["bandwidth_by_period"] as? [[String: Any]])
        XCTAssertEqual(groups.compactMap { $0["period_samples"] as? Int }, [1, 2, 4])
        let perSample = groups.compactMap { $0["bytes_per_sample"] as? Double }.reduce(0, +)
        XCTAssertEqual(perSample, try XCTUnwrap(object["weight_bytes_per_sample"] as? Double), accuracy: 1e-6 * perSample)
        XCTAssertNotNil(object["replay_samples_per_second"] as? Double)
        XCTAssertTrue(try String(contentsOfFile: svg, encoding: .utf8).hasPrefix("<svg"))
    }

    // MARK: default model

    func testDefaultModelFromEnvironment() throws {
        let result = try CLI.run(["info"], environment: ["SEQUNET_MODEL": c16])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdoutText.contains("sequnet_c16_l4_d1_k5.pt"), result.stdoutText)
    }

    func testDefaultModelInRepositoryOfExecutable() throws {
        // A copy of the executable at <repo>/.build/<triple>/debug/sequnet
        // finds <repo>/models/sequnet-piano.safetensors from any directory.
        let repo = scratch.appendingPathComponent("repo")
        let bin = repo.appendingPathComponent(".build/x86_64-unknown-linux-gnu/debug")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("models"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: CLI.executable, to: bin.appendingPathComponent("sequnet"))
        let copy = bin.appendingPathComponent("sequnet")
        let model = repo.appendingPathComponent("models/sequnet-piano.safetensors").path

        let missing = try CLI.run(["info"], executable: copy)
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderrLines,
                       ["error: no default model yet (models/sequnet-piano.safetensors is missing); pass -m MODEL"])

        XCTAssertEqual(try CLI.run(["convert", c16, model]).status, 0)

        let result = try CLI.run(["info"], executable: copy)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdoutText.contains(model), result.stdoutText)
    }

    // MARK: errors: one line, status below 128

    func assertOneLineError(_ arguments: [String], environment: [String: String] = [:], mentions: String,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try CLI.run(arguments, environment: environment, file: file, line: line)
        XCTAssertNotEqual(result.status, 0, "expected failure for \(arguments)", file: file, line: line)
        XCTAssertLessThan(result.status, 128, file: file, line: line)
        XCTAssertEqual(result.stderrLines.count, 1, "stderr: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("error: "), result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(mentions), result.stderr, file: file, line: line)
        XCTAssertTrue(result.stdout.isEmpty, file: file, line: line)
    }

    func testMissingModelFile() throws {
        try assertOneLineError(["generate", "-m", path("nope.pt"), "-o", path("x.wav")], mentions: "nope.pt")
    }

    func testZeroSeconds() throws {
        try assertOneLineError(["generate", "-m", c16, "--seconds", "0", "-o", path("x.wav")], mentions: "--seconds")
        try assertOneLineError(["stream", "-m", c16, "--seconds", "0"], mentions: "--seconds")
    }

    func testNegativeTemperature() throws {
        try assertOneLineError(["generate", "-m", c16, "--temperature", "-1", "-o", path("x.wav")], mentions: "--temperature")
        try assertOneLineError(["stream", "-m", c16, "--temperature", "nan"], mentions: "--temperature")
    }

    func testMinPOutsideZeroToOne() throws {
        try assertOneLineError(["generate", "-m", c16, "--min-p", "1.5", "-o", path("x.wav")], mentions: "--min-p")
        try assertOneLineError(["stream", "-m", c16, "--min-p", "-0.1"], mentions: "--min-p")
    }

    func testPromptThatIsNotAudio() throws {
        let text = path("notes.txt")
        try "not audio at all\n".write(toFile: text, atomically: true, encoding: .utf8)
        try assertOneLineError(["generate", "-m", c16, "--prompt", text, "-o", path("x.wav")], mentions: "notes.txt")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.wav")), "no output for a failed run")
    }

    func testCheckpointThatIsNotAModel() throws {
        let bogus = path("bogus.pt")
        try "hello".write(toFile: bogus, atomically: true, encoding: .utf8)
        try assertOneLineError(["info", "-m", bogus], mentions: "bogus.pt")
    }

    func testMissingDefaultModel() throws {
        try assertOneLineError(["info"], environment: ["SEQUNET_MODEL": path("absent.safetensors")],
                               mentions: "SEQUNET_MODEL")
    }
}
