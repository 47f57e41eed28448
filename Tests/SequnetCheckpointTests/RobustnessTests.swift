import XCTest
@testable import SequnetCheckpoint

/// Damaged or hostile input of any kind is a CheckpointError, never a crash.
final class RobustnessTests: XCTestCase {
    func testEmptyInputIsRefused() {
        XCTAssertEqual(assertRefused([]), .empty)
    }

    func testEmptyFileIsRefusedNamingTheFile() throws {
        let path = NSTemporaryDirectory() + "sequnet-empty-\(getpid()).pt"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(assertRefused(path: path), .empty)
    }

    func testMissingFileIsRefused() {
        XCTAssertThrowsError(try readCheckpoint(atPath: "/nonexistent/sequnet.pt")) { error in
            guard case .cannotOpen? = error as? CheckpointError else { return XCTFail("\(error)") }
        }
    }

    func testRandomBytesAreRefused() {
        var rng = SplitMix64(seed: 42)
        for length in [1, 3, 7, 8, 9, 64, 1000, 100_000] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            assertRefused(bytes)
        }
    }

    func testTruncatedZipCheckpointIsRefused() throws {
        let bytes = try Fixture.bytes(Fixture.golden("wavenet_l4_b2_r16_d16_s32"))
        for length in [4, 30, 100, 1000, bytes.count / 2, bytes.count - 23, bytes.count - 1] {
            assertRefused(Array(bytes.prefix(length)))
        }
    }

    func testCompressedZipEntryIsRefused() {
        guard case .compressedEntry(let name, 8)? = assertRefused(path: Fixture.checkpoint("compressed.pt")) else {
            return XCTFail("expected compressedEntry")
        }
        XCTAssertTrue(name.hasSuffix("data.pkl"))
    }

    func testEntriesOutsideOneTopFolderAreRefused() {
        guard case .unsafeEntryPath? = assertRefused(path: Fixture.checkpoint("two_roots.pt")) else {
            return XCTFail("expected unsafeEntryPath")
        }
    }

    func testDotDotInAnEntryPathIsRefused() {
        guard case .unsafeEntryPath(_, let reason)? = assertRefused(path: Fixture.checkpoint("dotdot.pt")) else {
            return XCTFail("expected unsafeEntryPath")
        }
        XCTAssertTrue(reason.contains(".."))
    }

    func testCorruptedBytesNeverCrashTheReader() throws {
        // Single-byte and small-run corruptions all over a small real checkpoint:
        // each read may succeed (the damage hit tensor data) or throw, never trap.
        let original = try Fixture.bytes(Fixture.checkpoint("strided.pt"))
        var rng = SplitMix64(seed: 7)
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0...(rng.next() % 3) {
                let at = Int(rng.next() % UInt64(bytes.count))
                bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            _ = try? read(bytes)
        }
        let legacy = try Fixture.bytes(Fixture.checkpoint(Fixture.legacySource + ".legacy.pt"))
        let pickleEnd = 25_000  // corrupt the pickles, not just the storage bytes
        for _ in 0..<300 {
            var bytes = legacy
            let at = Int(rng.next() % UInt64(pickleEnd))
            bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            _ = try? read(bytes)
        }
    }

    func testUnrecognisedContentSaysWhatItStartsWith() {
        let error = assertRefused(Array("hello, world".utf8))
        XCTAssertEqual(error?.description, "not a torch zip, torch legacy or safetensors checkpoint (starts with 68 65 6c 6c 6f 2c 20 77)")
    }
}

/// A tiny deterministic generator so the random tests are reproducible.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49eb_133b_111f
        return z ^ (z >> 31)
    }
}
