import XCTest
import SequnetCheckpoint
@testable import SequnetEngine

/// A model family is one folder plus one registry line: its configuration
/// describes its tensors once, and loading, export, random weights and the
/// parameter count all follow that description.
final class ModelFamilyTests: XCTestCase {
    /// A small configuration of every registered family.
    let smallConfigs: [any ModelConfiguration] = [
        SeqUNetConfig(features: 8, levels: 3, depth: 2, kernelSize: 3),
        WaveNetConfig(layersPerBlock: 3, blocks: 2, residualChannels: 8, dilationChannels: 6, skipChannels: 10),
        PlainSeqUNetConfig(features: 6, levels: 3, kernelSize: 3),
        TCNConfig(features: 5, levels: 3, kernelSize: 3),
    ]
    /// The language-model forms of the two symbolic families (same families, an embedding and a decoder around them).
    let languageModels: [any ModelConfiguration] = [
        PlainSeqUNetConfig.languageModel(vocabulary: 11, embedding: 4, features: 6, levels: 3, kernelSize: 3),
        TCNConfig.languageModel(vocabulary: 11, embedding: 4, features: 5, levels: 3, kernelSize: 3),
    ]

    func testEveryRegisteredFamilyIsFoundByItsMetadataNameAndItsTensorNames() {
        XCTAssertEqual(ModelRegistry.families.count, smallConfigs.count, "a new family needs a small config here")
        for config in smallConfigs {
            let family = type(of: config)
            XCTAssertTrue(ModelRegistry.family(named: family.architecture) == family)
            let names = Set(config.tensors.map(\.name))
            XCTAssertTrue(ModelRegistry.family(recognising: names) == family, family.architecture)
        }
        XCTAssertNil(ModelRegistry.family(named: "transformer"))
        XCTAssertNil(ModelRegistry.family(recognising: ["decoder.weight"]))
    }

    func testExportedTensorsAreExactlyTheDescribedOnesInOrder() throws {
        for config in smallConfigs + languageModels {
            let model = try Model(randomWeightsFor: config, seed: 3)
            let exported = model.exportStateDict()
            XCTAssertEqual(exported.names, config.tensors.map(\.name), "\(config)")
            for spec in config.tensors { XCTAssertEqual(exported.tensors[spec.name]?.shape, spec.shape, spec.name) }
            // A tied tensor (a language model's decoder) is its embedding again, counted once.
            let tied = config.tensors.filter { $0.tiedTo != nil }
            XCTAssertEqual(model.parameterCount, exported.tensors.values.reduce(0) { $0 + $1.count } - tied.reduce(0) { $0 + $1.elementCount })
            for spec in tied { XCTAssertEqual(exported.tensors[spec.name], exported.tensors[spec.tiedTo!]) }
        }
    }

    func testExportThenLoadGivesTheSameWeightsAndLogits() throws {
        for config in smallConfigs + languageModels {
            let model = try Model(randomWeightsFor: config, seed: 9)
            let exported = model.exportStateDict()
            let reloaded = try Model(stateDict: exported)
            XCTAssertEqual(reloaded.exportStateDict().tensors, exported.tensors, "\(config)")
            let a = model.makeStream(), b = reloaded.makeStream()
            let width = config.input.width
            for input in [3, 200, 17, 128, 0, 255, 64] {
                if config.input.isVector {
                    // a frame with one key down
                    let frame = (0..<width).map { $0 == input % width ? Float(1) : 0 }
                    a.step(vector: frame)
                    b.step(vector: frame)
                } else {
                    a.step(input % width)
                    b.step(input % width)
                }
                XCTAssertEqual(Array(a.logits), Array(b.logits), "\(config)")
            }
        }
    }

    func testRandomWeightsStayInsidePyTorchsInitialisationBound() throws {
        let config = smallConfigs[0]
        let exported = try Model(randomWeightsFor: config, seed: 1).exportStateDict()
        for spec in config.tensors {
            let bound = 1 / Float(spec.fanIn).squareRoot()
            let largest = exported.tensors[spec.name]!.values.map(abs).max() ?? 0
            XCTAssertLessThanOrEqual(largest, bound, spec.name)
        }
    }

    // MARK: Metadata is checked, never trusted

    func exported(_ config: any ModelConfiguration) throws -> StateDict {
        try Model(randomWeightsFor: config, seed: 2).exportStateDict()
    }

    func testMetadataThatContradictsTheTensorsNamesTheField() throws {
        var dict = try exported(smallConfigs[0])
        dict.metadata["sequnet.config"] = #"{"classes":256,"depth":2,"features":8,"kernel_size":5,"levels":3}"#
        XCTAssertThrowsError(try Model(stateDict: dict)) { error in
            XCTAssertEqual(error as? ModelLoadError, .metadataContradicts(field: "kernel_size", metadata: "5", tensors: "3"))
        }
    }

    func testMetadataNamingAnotherArchitectureIsRefused() throws {
        var dict = try exported(smallConfigs[0])
        dict.metadata["sequnet.architecture"] = "wavenet"
        XCTAssertThrowsError(try Model(stateDict: dict)) { error in
            XCTAssertEqual("\(error)", "metadata says sequnet.architecture 'wavenet', but the tensors say 'sequnet'")
        }
    }

    func testOlderFilesCamelCaseKeysAreReadAsTheReferenceNames() throws {
        var dict = try exported(smallConfigs[1])
        dict.metadata["sequnet.config"] = #"{"blocks":2,"classes":256,"dilationChannels":6,"kernelSize":2,"layersPerBlock":3,"residualChannels":8,"skipChannels":10}"#
        dict.metadata["wavenet.layers_per_block"] = nil
        let model = try Model(stateDict: dict)
        XCTAssertEqual(model.config as? WaveNetConfig, smallConfigs[1] as? WaveNetConfig)
    }

    func testAWaveNetsLayoutComesFromMetadataUnlessTheUserGivesIt() throws {
        var dict = try exported(smallConfigs[1])   // 3 layers x 2 blocks
        XCTAssertEqual((try Model(stateDict: dict).config as? WaveNetConfig)?.layersPerBlock, 3)
        // The user's value wins over the file's (it changes the model itself).
        let asOneBlock = try Model(stateDict: dict, hyperparameters: ["layers_per_block": 6])
        XCTAssertEqual((asOneBlock.config as? WaveNetConfig)?.blocks, 1)
        // Without either, 6 layers cannot be split.
        dict.metadata = [:]
        XCTAssertThrowsError(try Model(stateDict: dict)) { error in
            XCTAssertTrue("\(error)".contains("--wavenet-layers"), "\(error)")
        }
    }

    func testAFamilyWithoutACodecIsRefusedAtLoad() throws {
        let config = SeqUNetConfig(classes: 512, features: 4, levels: 2, depth: 1, kernelSize: 3)
        XCTAssertThrowsError(try Model(randomWeightsFor: config)) { error in
            XCTAssertTrue("\(error)".contains("mu-law audio needs 256 classes"), "\(error)")
        }
    }
}
