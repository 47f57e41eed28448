import XCTest
@testable import SequnetCheckpoint

/// torch.save before 1.6 (`_use_new_zipfile_serialization=False`).
final class TorchLegacyTests: XCTestCase {
    let legacyPath = Fixture.checkpoint(Fixture.legacySource + ".legacy.pt")

    func testLegacyFileIsRecognisedByContent() throws {
        XCTAssertEqual(try readCheckpoint(atPath: legacyPath).format, .torchLegacy)
    }

    func testLegacyFileGivesTheSameTensorsAsTheZipFile() throws {
        let legacy = try readCheckpoint(atPath: legacyPath)
        let zip = try readCheckpoint(atPath: Fixture.golden(Fixture.legacySource))
        XCTAssertEqual(legacy.names, zip.names)
        XCTAssertEqual(legacy.tensors, zip.tensors)
    }

    func testTruncatedLegacyFileIsRefused() throws {
        let bytes = try Fixture.bytes(legacyPath)
        for length in [1, 2, 14, 15, 40, bytes.count / 2, bytes.count - 1] {
            assertRefused(Array(bytes.prefix(length)))
        }
    }

    func testPickleThatIsNotTorchsMagicNumberIsRefused() {
        // PROTO 2, BININT1 7, STOP: a valid pickle, but not a legacy checkpoint.
        guard case .malformedLegacy? = assertRefused([0x80, 0x02, 0x4b, 0x07, 0x2e]) else {
            return XCTFail("expected malformedLegacy")
        }
    }
}
