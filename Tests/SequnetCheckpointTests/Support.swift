import Foundation
import XCTest
@testable import SequnetCheckpoint

/// Paths of the fixtures, found from this file so tests run from any directory.
enum Fixture {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func golden(_ name: String) -> String { root.appendingPathComponent(name + ".pt").path }
    static func checkpoint(_ file: String) -> String {
        root.appendingPathComponent("checkpoints").appendingPathComponent(file).path
    }
    static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// What torch reads from the fixtures, written by tools/make_checkpoint_fixtures.py.
    static let expected: Expected = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: checkpoint("expected.json")))
        return try! JSONDecoder().decode(Expected.self, from: data)
    }()

    static let goldenNames = ["sequnet_c16_l4_d1_k5", "sequnet_c24_l5_d2_k3", "wavenet_l4_b2_r16_d16_s32"]
    static let legacySource = "wavenet_l4_b2_r16_d16_s32"
}

struct Expected: Decodable {
    struct Sampled: Decodable {
        let name: String
        let shape: [Int]
        /// [flat index, value] pairs.
        let samples: [[Double]]
    }
    struct Full: Decodable {
        let name: String
        let shape: [Int]
        let values: [Double]
    }
    let pwned_marker: String
    let golden: [String: [Sampled]]
    let safetensors_metadata: [String: String]
    let strided: [Full]
}

/// Reads a checkpoint from bytes in memory.
func read(_ bytes: [UInt8]) throws -> StateDict {
    try bytes.withUnsafeBytes { try readCheckpoint(bytes: $0) }
}

/// Asserts that reading `bytes` throws a CheckpointError (and does not crash),
/// returning it without its file wrapper.
@discardableResult
func assertRefused(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> CheckpointError? {
    do {
        _ = try read(bytes)
        XCTFail("expected a CheckpointError", file: file, line: line)
        return nil
    } catch let error as CheckpointError {
        XCTAssertFalse(error.description.contains("\n"), "error must be one line: \(error)", file: file, line: line)
        return error.underlying
    } catch {
        XCTFail("expected a CheckpointError, got \(error)", file: file, line: line)
        return nil
    }
}

/// Same for a file on disk.
@discardableResult
func assertRefused(path: String, file: StaticString = #filePath, line: UInt = #line) -> CheckpointError? {
    do {
        _ = try readCheckpoint(atPath: path)
        XCTFail("expected a CheckpointError for \(path)", file: file, line: line)
        return nil
    } catch let error as CheckpointError {
        XCTAssertFalse(error.description.contains("\n"), "error must be one line: \(error)", file: file, line: line)
        XCTAssertTrue(error.description.hasPrefix(path), "error must name the file: \(error)", file: file, line: line)
        return error.underlying
    } catch {
        XCTFail("expected a CheckpointError, got \(error)", file: file, line: line)
        return nil
    }
}

/// A safetensors file from a header written by hand and raw data bytes.
func safetensorsBytes(header: String, data: [UInt8]) -> [UInt8] {
    let h = Array(header.utf8)
    var out: [UInt8] = []
    withUnsafeBytes(of: UInt64(h.count).littleEndian) { out += $0 }
    return out + h + data
}
