import Foundation
import SequnetCheckpoint
import SequnetEngine
import XCTest

/// Issue 14 at the command line: `--precision`, `--threads`, `convert
/// --precision`, and the kernel build chosen at run time. Runs of the real binary.
final class PrecisionCLITests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws { scratch = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }
    func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

    /// A random Seq-U-Net big enough that `--threads` shares out its products.
    func checkpoint() throws -> String {
        let file = path("model.safetensors")
        let config = try ArchitectureSpec.parse("sequnet:features=40,levels=4,depth=2,kernel=5")
        try writeSafetensors(try Model(randomWeightsFor: config, seed: 3).exportStateDict(), toPath: file)
        return file
    }

    func generate(_ model: String, _ extra: [String], environment: [String: String] = [:]) throws -> Data {
        let out = path("out-\(UUID().uuidString).wav")
        let result = try CLI.run(["generate", "-m", model, "--samples", "1500", "--seed", "5", "-o", out] + extra,
                                 environment: environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try Data(contentsOf: URL(fileURLWithPath: out))
    }

    /// Teacher-forced logits of `model` on fixed classes.
    func logits(_ model: String, _ extra: [String], environment: [String: String] = [:]) throws -> Data {
        let prompt = path("prompt.u8"), feed = path("feed.u8"), out = path("logits-\(UUID().uuidString).f32")
        try Data((0..<200).map { UInt8(($0 * 37) % 256) }).write(to: URL(fileURLWithPath: prompt))
        try Data((0..<300).map { UInt8(($0 * 11 + 128) % 256) }).write(to: URL(fileURLWithPath: feed))
        let result = try CLI.run(["logits", "-m", model, "--prompt-classes", prompt, "--feed-classes", feed, "-o", out] + extra,
                                 environment: environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try Data(contentsOf: URL(fileURLWithPath: out))
    }

    func testEveryKernelBuildAndThreadCountComputesTheSameBytesForAPrecision() throws {
        let model = try checkpoint()
        var byPrecision: [Data] = []
        for precision in MatrixPrecision.allCases {
            let reference = try logits(model, ["--precision", precision.rawValue])
            // AVX2 forced is what a CPU without AVX-512 runs; a path the CPU
            // lacks falls back to the best it has, so this also runs elsewhere.
            for (threads, kernels) in [("1", "avx2"), ("2", "avx512"), ("3", "avx2"), ("2", "avx512vnni")] {
                XCTAssertEqual(try logits(model, ["--precision", precision.rawValue, "--threads", threads],
                                          environment: ["SEQUNET_KERNELS": kernels]),
                               reference, "\(precision), \(threads) threads, \(kernels)")
            }
            byPrecision.append(reference)
        }
        XCTAssertEqual(Set(byPrecision).count, 3, "each precision computes something of its own")
        XCTAssertEqual(try generate(model, ["--threads", "2"]), try generate(model, []), "generate too")
    }

    func testTheKernelBuildCanBeForcedToAVX2AndInfoSaysWhichRuns() throws {
        let model = try checkpoint()
        let forced = try CLI.run(["info", "-m", model, "--json"], environment: ["SEQUNET_KERNELS": "avx2"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: forced.stdout) as? [String: Any])
        XCTAssertEqual(object["kernel_path"] as? String, "avx2")
        XCTAssertEqual(object["precision"] as? String, "fp32")
        let chosen = try CLI.run(["info", "-m", model, "--json", "--precision", "int8"])
        let best = try XCTUnwrap(try JSONSerialization.jsonObject(with: chosen.stdout) as? [String: Any])
        let features = CPUFeatures.current
        XCTAssertEqual(best["kernel_path"] as? String,
                       features.hasAVX512VNNI ? "avx512vnni" : features.hasAVX512 ? "avx512" : "avx2")
        XCTAssertEqual(best["precision"] as? String, "int8")
    }

    func testConvertStoresTheChosenPrecisionAndLaterLoadsUseIt() throws {
        let model = try checkpoint()
        let int8 = path("model-int8.safetensors")
        let converted = try CLI.run(["convert", model, int8, "--precision", "int8"])
        XCTAssertEqual(converted.status, 0, converted.stderr)
        XCTAssertTrue(converted.stderr.contains("int8 matrices"), converted.stderr)
        let sizes = try [model, int8].map { try XCTUnwrap(FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) }
        // The matrices shrink to a quarter; the one-hot input table (256 x 40 x 5) stays float32.
        XCTAssertLessThan(Double(sizes[1]), Double(sizes[0]) * 0.5)
        // The file's own precision is the default; it is what loading the original in int8 gives.
        XCTAssertEqual(try generate(int8, []), try generate(model, ["--precision", "int8"]))
        let info = try CLI.run(["info", "-m", int8])
        XCTAssertTrue(info.stdoutText.contains("of int8 weights"), info.stdoutText)
    }

    func testAnUnknownPrecisionIsAUsageError() throws {
        let model = try checkpoint()
        for command in [["generate", "-m", model, "-o", path("x.wav")], ["bench", "-m", model], ["convert", model, path("y.safetensors")]] {
            let result = try CLI.run(command + ["--precision", "fp8"])
            assertOneLineError(result, mentions: "unknown precision 'fp8' (supported: fp32, bf16, int8)", command[0])
            XCTAssertEqual(result.status, 64)
        }
        let threads = try CLI.run(["generate", "-m", model, "-o", path("x.wav"), "--threads", "0"])
        assertOneLineError(threads, mentions: "--threads must be 1...64")
    }
}
