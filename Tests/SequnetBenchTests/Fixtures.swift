import Foundation
import SequnetEngine

/// The golden checkpoints of Tests/Fixtures, as models to measure.
enum Fixtures {
    static let names = ["sequnet_c16_l4_d1_k5", "sequnet_c24_l5_d2_k3", "wavenet_l4_b2_r16_d16_s32"]

    static func model(_ name: String) throws -> Model {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures")
        // The WaveNet fixture is 4 layers x 2 blocks (its JSON says so too).
        let layout = name.hasPrefix("wavenet_l4") ? ["layers_per_block": 4] : [:]
        return try Model(contentsOf: fixtures.appendingPathComponent("\(name).pt").path, hyperparameters: layout)
    }
}
