import Foundation
import XCTest
@testable import SequnetCheckpoint

/// Reading and writing safetensors, and each rule of the format.
final class SafetensorsTests: XCTestCase {
    let fixturePath = Fixture.checkpoint(Fixture.legacySource + ".safetensors")

    private func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sequnet-\(UUID().uuidString)-\(name)").path
    }

    func testFileWrittenByPythonGivesTheSameTensorsAsTheZipFile() throws {
        let st = try readCheckpoint(atPath: fixturePath)
        let zip = try readCheckpoint(atPath: Fixture.golden(Fixture.legacySource))
        XCTAssertEqual(st.format, .safetensors)
        XCTAssertEqual(st.names, zip.names)
        XCTAssertEqual(st.tensors, zip.tensors)
        XCTAssertEqual(st.metadata, Fixture.expected.safetensors_metadata)
    }

    func testRoundTripKeepsTensorsOrderAndMetadata() throws {
        var dict = try readCheckpoint(atPath: Fixture.golden("sequnet_c16_l4_d1_k5"))
        dict.metadata = ["model": "sequnet", "levels": "4", "quote\"and\\slash": "line\nbreak"]
        let path = temporaryPath("roundtrip.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try writeSafetensors(dict, toPath: path)
        let back = try readCheckpoint(atPath: path)
        XCTAssertEqual(back.format, .safetensors)
        XCTAssertEqual(back.names, dict.names)
        XCTAssertEqual(back.tensors, dict.tensors)
        XCTAssertEqual(back.metadata, dict.metadata)
    }

    func testWrittenHeaderIsPaddedWithSpacesToEightBytes() throws {
        var dict = StateDict(format: .safetensors)
        dict.set("a", Tensor(shape: [3], values: [1, 2, 3]))
        let path = temporaryPath("padding.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try writeSafetensors(dict, toPath: path)
        let bytes = try Fixture.bytes(path)
        let n = bytes.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(bytes.count, 8 + n + 12)
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}"), header)
        XCTAssertTrue(header.drop(while: { $0 != "}" }).dropFirst(2).allSatisfy { $0 == " " })
    }

    func testZeroDimensionalAndEmptyTensorsRoundTrip() throws {
        var dict = StateDict(format: .safetensors)
        dict.set("scalar", Tensor(shape: [], values: [4.5]))
        dict.set("empty", Tensor(shape: [0, 3], values: []))
        let path = temporaryPath("edge.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try writeSafetensors(dict, toPath: path)
        let back = try readCheckpoint(atPath: path)
        XCTAssertEqual(back.tensors, dict.tensors)
    }

    func testWritingATensorWhoseShapeDoesNotMatchItsValuesIsRefused() {
        var dict = StateDict(format: .safetensors)
        var t = Tensor(shape: [2], values: [1, 2])
        t.shape = [3]
        dict.set("bad", t)
        XCTAssertThrowsError(try writeSafetensors(dict, toPath: temporaryPath("bad.safetensors")))
    }

    // MARK: - Rules of the format

    func testAbsurdHeaderLengthIsRefused() {
        var bytes: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]
        bytes += Array("{}".utf8)
        guard case .limitExceeded? = assertRefused(bytes) else { return XCTFail("expected limitExceeded") }
    }

    func testHeaderLengthPastTheEndOfTheFileIsRefused() {
        var bytes: [UInt8] = [100, 0, 0, 0, 0, 0, 0, 0]
        bytes += Array("{}".utf8)
        guard case .malformedSafetensors? = assertRefused(bytes) else { return XCTFail("expected malformedSafetensors") }
    }

    func testHeaderThatIsNotJSONIsRefused() {
        assertRefused(safetensorsBytes(header: "{\"a\": [1, 2", data: []))
        assertRefused(safetensorsBytes(header: "{\"a\":1} x", data: []))
    }

    func testOverlappingOffsetsAreRefused() {
        let header = """
        {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}
        """
        let error = assertRefused(safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 12)))
        XCTAssertTrue(error?.description.contains("overlaps") ?? false, "\(String(describing: error))")
    }

    func testGapBetweenTensorsIsRefused() {
        let header = """
        {"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}
        """
        assertRefused(safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 12)))
    }

    func testDataAfterTheLastTensorIsRefused() {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        assertRefused(safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 8)))
    }

    func testOffsetsPastTheEndOfTheDataAreRefused() {
        let header = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
        assertRefused(safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 8)))
    }

    func testUnknownDtypeIsRefusedNamingIt() {
        let header = #"{"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#
        XCTAssertEqual(assertRefused(safetensorsBytes(header: header, data: [0, 0, 0, 0])),
                       .unknownDtype(tensor: "w", dtype: "F33"))
    }

    func testKnownNonFloat32DtypeIsRefusedNamingDtypeAndTensor() {
        let header = #"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#
        let error = assertRefused(safetensorsBytes(header: header, data: [0, 0, 0, 0]))
        XCTAssertEqual(error, .unsupportedDtype(tensor: "w", dtype: "F16"))
        XCTAssertTrue(error?.description.contains("F16") ?? false)
        XCTAssertTrue(error?.description.contains("'w'") ?? false)
    }

    func testShapeThatDoesNotMatchTheByteLengthIsRefused() {
        let header = #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        XCTAssertEqual(assertRefused(safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 8))),
                       .shapeMismatch(tensor: "w", shape: [3], byteCount: 8))
    }

    func testShapeWhoseProductOverflowsIsRefused() {
        let header = #"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}"#
        assertRefused(safetensorsBytes(header: header, data: [0, 0, 0, 0]))
    }

    func testMissingFieldsAndNegativeNumbersAreRefused() {
        assertRefused(safetensorsBytes(header: #"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]))
        assertRefused(safetensorsBytes(header: #"{"w":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0]))
        assertRefused(safetensorsBytes(header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]))
        assertRefused(safetensorsBytes(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]))
    }

    func testMetadataMustMapStringsToStrings() {
        let header = #"{"__metadata__":{"levels":4}}"#
        guard case .malformedSafetensors? = assertRefused(safetensorsBytes(header: header, data: [])) else {
            return XCTFail("expected malformedSafetensors")
        }
    }

    func testDuplicateTensorNamesAreRefused() {
        let header = """
        {"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}
        """
        assertRefused(safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 8)))
    }

    func testTruncatedFileIsRefused() throws {
        let bytes = try Fixture.bytes(fixturePath)
        for length in [8, 9, 100, bytes.count - 1] {
            assertRefused(Array(bytes.prefix(length)))
        }
    }
}

/// A safetensors header of 0x..80 bytes makes the file's first byte the
/// pickle PROTO opcode; it is still read as safetensors.
final class SafetensorsDetectionTests: XCTestCase {
    func testAHeaderLengthEndingIn0x80IsStillSafetensors() throws {
        var dict = StateDict(format: .safetensors)
        // Grow the metadata until the padded header is 0x80 bytes long mod 256.
        var filler = ""
        var bytes: [UInt8] = []
        for _ in 0..<300 {
            dict.metadata["filler"] = filler
            dict.set("w", Tensor(shape: [2], values: [1, 2]))
            bytes = try encodeSafetensors(dict)
            if bytes[0] == 0x80 { break }
            filler += "x"
        }
        XCTAssertEqual(bytes[0], 0x80, "found a header length ending in 0x80")
        let back = try bytes.withUnsafeBytes { try readCheckpoint(bytes: $0) }
        XCTAssertEqual(back.format, .safetensors)
        XCTAssertEqual(back.tensors["w"]?.values, [1, 2])
    }
}
