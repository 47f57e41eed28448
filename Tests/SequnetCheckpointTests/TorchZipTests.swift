import XCTest
@testable import SequnetCheckpoint

/// torch.save (>= 1.6) zip checkpoints: the golden fixtures as torch reads them.
final class TorchZipTests: XCTestCase {
    func testGoldenCheckpointIsRecognisedAsTorchZip() throws {
        let dict = try readCheckpoint(atPath: Fixture.golden("sequnet_c16_l4_d1_k5"))
        XCTAssertEqual(dict.format, .torchZip)
    }

    func testTrainerDictYieldsModelStateDictOnly() throws {
        // The file also holds optimizer state and 'step'; only the model's tensors come back.
        let dict = try readCheckpoint(atPath: Fixture.golden("sequnet_c16_l4_d1_k5"))
        XCTAssertEqual(dict.tensors["input_conv.weight"]?.shape, [16, 256, 5])
        XCTAssertEqual(dict.tensors["input_conv.bias"]?.shape, [16])
        XCTAssertNil(dict.tensors["step"])
        XCTAssertTrue(dict.metadata.isEmpty)
    }

    func testGoldenNamesShapesAndOrderMatchTorch() throws {
        for model in Fixture.goldenNames {
            let dict = try readCheckpoint(atPath: Fixture.golden(model))
            let expected = try XCTUnwrap(Fixture.expected.golden[model])
            XCTAssertEqual(dict.names, expected.map(\.name), model)
            for e in expected {
                XCTAssertEqual(dict.tensors[e.name]?.shape, e.shape, "\(model) \(e.name)")
            }
        }
    }

    func testGoldenValuesMatchTorchBitForBit() throws {
        for model in Fixture.goldenNames {
            let dict = try readCheckpoint(atPath: Fixture.golden(model))
            for e in try XCTUnwrap(Fixture.expected.golden[model]) {
                let t = try XCTUnwrap(dict.tensors[e.name])
                for sample in e.samples {
                    XCTAssertEqual(t.values[Int(sample[0])], Float(sample[1]), "\(model) \(e.name)[\(Int(sample[0]))]")
                }
            }
        }
    }

    func testStridedViewsAreGatheredFromTheirStorage() throws {
        // Transposed, strided and 0-dim views with storage offsets.
        let dict = try readCheckpoint(atPath: Fixture.checkpoint("strided.pt"))
        XCTAssertEqual(dict.names, Fixture.expected.strided.map(\.name))
        for e in Fixture.expected.strided {
            let t = try XCTUnwrap(dict.tensors[e.name])
            XCTAssertEqual(t.shape, e.shape, e.name)
            XCTAssertEqual(t.values, e.values.map { Float($0) }, e.name)
        }
    }

    func testReadingFromMemoryEqualsReadingTheFile() throws {
        let path = Fixture.golden("wavenet_l4_b2_r16_d16_s32")
        let fromFile = try readCheckpoint(atPath: path)
        let fromBytes = try read(try Fixture.bytes(path))
        XCTAssertEqual(fromFile.names, fromBytes.names)
        XCTAssertEqual(fromFile.tensors, fromBytes.tensors)
    }
}
