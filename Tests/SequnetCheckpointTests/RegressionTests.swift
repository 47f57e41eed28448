import Foundation
import XCTest
@testable import SequnetCheckpoint

/// Inputs that once crashed or exhausted a reader (found by review or by the
/// fuzzers in Fuzz/, see docs/RELIABILITY.md), kept so they never do again.
/// Fuzzer finds live in Tests/Fixtures/checkpoints/regressions/, one file each.
final class RegressionTests: XCTestCase {
    /// A 9 kB zip whose state dict names one 1024 x 1024 stride-0 view of a
    /// one-element storage under 400 keys asks for 400 copies of 4 MB each
    /// (with 4096 x 4096 views, as first found, 26 GB). The reader stops at
    /// the element budget, before allocating.
    func testOneBroadcastViewUnderManyNamesIsRefusedBeforeAllocating() throws {
        let path = Fixture.checkpoint("broken/broadcast_bomb.pt")
        guard case .invalidTensor(let name, let reason)? = assertRefused(path: path) else {
            return XCTFail("expected invalidTensor")
        }
        XCTAssertEqual(name, "layer1.weight", "the first name past the budget")
        XCTAssertTrue(reason.contains("more than a"), reason)
    }

    /// The torch zip fuzzer's find: one 4096 x 4096 broadcast view (the
    /// bomb, mutated) took 12 s under AddressSanitizer to be copied before
    /// the budget stopped the next one. Now the budget refuses it first.
    func testABroadcastViewBeyondTheBudgetIsRefusedBeforeBeingCopied() throws {
        let path = Fixture.root.appendingPathComponent("checkpoints/regressions/torch_zip-timeout-564b77817c9e2cd02cd0123ebff343ca975c7820").path
        guard case .invalidTensor(let name, let reason)? = assertRefused(path: path) else { return XCTFail("expected invalidTensor") }
        XCTAssertEqual(name, "layer0.weight")
        XCTAssertTrue(reason.contains("more than a 9145-byte file can hold"), reason)
    }

    func testElementBudgetAdmitsEveryTensorOfAnHonestFile() {
        // A file holds its tensors, so its own size in float32 values always fits,
        // twice over for weights tied under two names.
        for size in [0, 100, 1 << 20, 1 << 30] {
            XCTAssertGreaterThanOrEqual(elementBudget(fileSize: size), 2 * size / 4)
        }
    }

    /// `}` `2` `X'k'` `h0`... : a dict stored as its own value. It leaked a
    /// reference cycle (and was infinitely deep) until self-insertion was refused.
    func testAContainerCannotBePutIntoItself() {
        let selfDict: [UInt8] = [0x80, 0x02, 0x7d, 0x71, 0x00, 0x58, 1, 0, 0, 0, 0x6b, 0x68, 0x00, 0x73, 0x2e]
        let selfList: [UInt8] = [0x80, 0x02, 0x5d, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2e]
        for (bytes, what) in [(selfDict, "dict"), (selfList, "list")] {
            XCTAssertThrowsError(try unpickle(bytes)) { error in
                guard case .malformedPickle(_, let reason)? = error as? CheckpointError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains("\(what)") && reason.contains("itself"), reason)
            }
        }
    }

    /// Every input a fuzzer ever reported, fed to the reader it was found
    /// with (the file name starts with the target: pickle-, torch_zip-,
    /// torch_legacy-, safetensors-). Each must be read or refused, never crash.
    func testEveryFuzzerFindIsHandled() throws {
        let directory = Fixture.root.appendingPathComponent("checkpoints/regressions")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasPrefix(".") }
        XCTAssertFalse(files.isEmpty)
        for file in files.sorted() {
            let bytes = try Fixture.bytes(directory.appendingPathComponent(file).path)
            do {
                try bytes.withUnsafeBytes { raw in
                    switch file.prefix(while: { $0 != "-" }) {
                    case "pickle": _ = try unpickle(bytes)
                    case "torch_zip": _ = try readTorchZip(raw)
                    case "torch_legacy": _ = try readTorchLegacy(raw)
                    case "safetensors": _ = try readSafetensors(raw)
                    default: XCTFail("\(file): name must start with the fuzz target")
                    }
                }
            } catch let error as CheckpointError {
                XCTAssertFalse(error.description.contains("\n"), "\(file): \(error)")
            }
        }
    }
}

/// Runs the unpickler alone, as the FuzzPickle target does (storages become
/// references; no tensor is read).
private func unpickle(_ bytes: [UInt8]) throws -> PickleValue {
    try bytes.withUnsafeBytes { raw in
        var unpickler = Unpickler(raw) { pid in .storage(try storageRef(fromPersistentID: pid, legacy: false)) }
        return try unpickler.load()
    }
}
