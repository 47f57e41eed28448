import Foundation
import SequnetCheckpoint
@testable import SequnetEngine

/// The reference fixtures of ../shared/golden, copied into Tests/Fixtures.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static let names = ["sequnet_c16_l4_d1_k5", "sequnet_c24_l5_d2_k3", "wavenet_l4_b2_r16_d16_s32"]

    static func path(_ file: String) -> String { directory.appendingPathComponent(file).path }

    static func bytes(_ file: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(file)))
    }

    static func floats(_ file: String) throws -> [Float] {
        let data = try Data(contentsOf: directory.appendingPathComponent(file))
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// The fixture's JSON (`input_size`, `layers`, ...).
    static func info(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent("\(name).json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    static func model(_ name: String) throws -> Model {
        let info = try info(name)
        let layers = (info["layers"] as? Int).map { ["layers_per_block": $0] } ?? [:]
        return try Model(contentsOf: path("\(name).pt"), hyperparameters: layers)
    }
}
