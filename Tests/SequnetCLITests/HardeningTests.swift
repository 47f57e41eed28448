import Foundation
import SequnetAudio
import SequnetCheckpoint
import SequnetEngine
import XCTest

/// Issue 13: what a small hostile file, an odd output or an untimely signal
/// must not do (crash, run for minutes, allocate gigabytes, replace a device),
/// and what a new user tripped on. Runs of the real binary.
final class HardeningTests: XCTestCase {
    let tiny = CLI.fixture("checkpoints/tiny_sequnet_c4_l2_d1_k3.safetensors")
    var scratch: URL!

    override func setUpWithError() throws { scratch = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }
    func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

    /// A model of `config` with random weights, written as safetensors.
    func checkpoint(_ name: String, _ config: any ModelConfiguration) throws -> String {
        let file = path(name)
        try writeSafetensors(try Model(randomWeightsFor: config, seed: 1).exportStateDict(), toPath: file)
        return file
    }

    // MARK: 1. stderr that cannot be written

    func testAnUnwritableStderrNeverCrashesAndTheStatusStillTells() throws {
        for arguments in [["info", "-m", path("absent.pt")], ["info", "-m", tiny], ["generate", "-m", tiny, "--samples", "100", "-o", path("x.wav")]] {
            let full = try XCTUnwrap(FileHandle(forWritingAtPath: "/dev/full"))
            let result = try CLI.run(arguments, standardError: full)   // asserts death by no signal
            XCTAssertEqual(result.status, arguments[2] == tiny ? 0 : 64, arguments.joined(separator: " "))
        }
        // A closed pipe on stderr.
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        let result = try CLI.run(["info", "-m", path("absent.pt")], standardError: pipe.fileHandleForWriting)
        XCTAssertEqual(result.status, 64)
    }

    // MARK: 3. work and memory out of proportion to the file

    func testInfoOnAModelWithAGigabyteOfStateAnswersWithoutBuildingIt() throws {
        // 28 layers per block: dilations up to 2^27 samples, 1 GiB of state
        // per stream, from a file of a few kilobytes.
        let config = WaveNetConfig(layersPerBlock: 28, blocks: 1, residualChannels: 1, dilationChannels: 1, skipChannels: 1)
        let file = try checkpoint("wavenet28.safetensors", config)
        let info = try CLI.run(["info", "-m", file, "--json"], timeout: 60)
        XCTAssertEqual(info.status, 0, info.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: info.stdout) as? [String: Any])
        XCTAssertEqual(object["state_bytes"] as? Int, config.streamStateBytes(batch: 1))
        XCTAssertGreaterThan(config.streamStateBytes(batch: 1), 1 << 29)
        // Streaming it is refused up front, saying why and how to go ahead.
        let refused = try CLI.run(["generate", "-m", file, "--samples", "10", "-o", path("x.wav")])
        assertOneLineError(refused, mentions: "MiB of state, over the 256 MiB allowed; --allow-large-model lifts the limits")
    }

    func testAModelThatWouldPrimeForMillionsOfStepsIsRefusedBeforePriming() throws {
        // 20 levels of kernel 3: an input size of 5,242,879 samples to prime.
        let config = SeqUNetConfig(features: 1, levels: 20, depth: 1, kernelSize: 3)
        XCTAssertEqual(config.inputSize, 5_242_879)
        let file = try checkpoint("levels20.safetensors", config)
        XCTAssertEqual(try CLI.run(["info", "-m", file]).status, 0)
        let recording = path("recording.wav")
        let writer = try WAVWriter(path: recording, sampleRate: 16_000)
        try writer.write([Int16](repeating: 100, count: 100))
        try writer.close()
        for command in [["generate", "--samples", "10", "-o", path("x.wav")], ["score", recording], ["stream", "--samples", "10"]] {
            let result = try CLI.run([command[0], "-m", file] + command.dropFirst())
            assertOneLineError(result, mentions: "priming takes", command[0])
        }
    }

    func testAbsurdCountsAreUsageErrors() throws {
        let result = try CLI.run(["bench", "--arch", "sequnet:features=8,levels=3", "--samples", "10000000000"])
        assertOneLineError(result, mentions: "--samples must be 1...100000000")
        XCTAssertEqual(result.status, 64)
    }

    // MARK: 4 and 7. signals while priming; SIGQUIT

    /// Starts `arguments`, waits until it has said `ready` on stderr (or a
    /// time has passed), sends `signal`, and returns the status and stderr.
    func interrupt(_ arguments: [String], with signal: Int32, after ready: String) throws -> (Process, String) {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let errFile = path("stderr")
        FileManager.default.createFile(atPath: errFile, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errFile))
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !((try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "").contains(ready) {
            Thread.sleep(forTimeInterval: 0.02)
        }
        Thread.sleep(forTimeInterval: 0.2)
        kill(process.processIdentifier, signal)
        CLI.finish(process, within: 10)   // a fraction of a second is expected
        return (process, (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "")
    }

    func testSIGINTWhilePrimingStopsThereAndKeepsAValidWAV() throws {
        // 18 levels of kernel 3: 1.3 M priming steps, seconds of work in a debug build.
        let file = try checkpoint("levels18.safetensors", SeqUNetConfig(features: 1, levels: 18, depth: 1, kernelSize: 3))
        let out = path("primed.wav")
        let (process, stderr) = try interrupt(["generate", "-m", file, "--samples", "100", "-o", out],
                                              with: SIGINT, after: "generating")
        XCTAssertEqual(process.terminationReason, .exit, stderr)
        XCTAssertEqual(process.terminationStatus, 1, stderr)
        XCTAssertTrue(stderr.contains("interrupted while priming"), stderr)
        XCTAssertEqual(try readMonoAudio(atPath: out).samples.count, 0, "a valid WAV of just its header")
    }

    func testSIGQUITStopsAStreamCleanly() throws {
        let (process, stderr) = try interrupt(["stream", "-m", tiny], with: SIGQUIT, after: "streaming")
        XCTAssertEqual(process.terminationReason, .exit, stderr)
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        XCTAssertTrue(stderr.contains("stopped by SIGQUIT"), stderr)
        XCTAssertFalse(stderr.contains("crashed"), stderr)
    }

    // MARK: 5. outputs that are not regular files

    func testConvertNeverReplacesAFIFOWithAFile() throws {
        let fifo = path("fifo")
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let result = try CLI.run(["convert", tiny, fifo])
        assertOneLineError(result, mentions: "not a regular file")
        var info = stat()
        XCTAssertEqual(stat(fifo, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "still a FIFO")
    }

    func testConvertThroughASymbolicLinkReplacesTheFileItNames() throws {
        let target = path("target.safetensors"), link = path("link.safetensors")
        FileManager.default.createFile(atPath: target, contents: Data([1, 2, 3]))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        XCTAssertEqual(try CLI.run(["convert", tiny, link]).status, 0)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target, "the link stays")
        XCTAssertEqual(try CLI.run(["info", "-m", target]).status, 0)
    }

    // MARK: what a new user tripped on

    func testHelpForAnUnknownCommandIsAUsageError() throws {
        let result = try CLI.run(["help", "frobnicate"])
        assertOneLineError(result, mentions: "unknown command 'frobnicate'")
        XCTAssertEqual(result.status, 64)
        XCTAssertEqual(try CLI.run(["help", "generate"]).status, 0)
    }

    func testAPromptWithoutSamplesIsRefusedByGenerateAsByScore() throws {
        let empty = path("empty.wav")
        try WAVWriter(path: empty, sampleRate: 16_000).close()
        assertOneLineError(try CLI.run(["generate", "-m", tiny, "--prompt", empty, "-o", path("x.wav")]),
                           mentions: "holds no audio")
        assertOneLineError(try CLI.run(["stream", "-m", tiny, "--prompt", empty, "--samples", "10"]), mentions: "holds no audio")
        assertOneLineError(try CLI.run(["score", "-m", tiny, empty]), mentions: "is empty")
    }

    func testAnEmptyClassFileSaysItIsEmpty() throws {
        let feed = CLI.fixture("sequnet_c16_l4_d1_k5.steps.u8")
        let result = try CLI.run(["logits", "-m", tiny, "--prompt-classes", "/dev/null", "--feed-classes", feed, "-o", "-"])
        assertOneLineError(result, mentions: "'/dev/null' is empty")
    }
}
