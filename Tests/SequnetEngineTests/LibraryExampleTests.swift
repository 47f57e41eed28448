import XCTest
import SequnetEngine

/// README's "The library can be used from other Swift code" example, as
/// written there but for the model (the tiny test model instead of the
/// default one, which a debug build steps too slowly), so that it keeps
/// compiling and running. Only public API: no @testable import.
final class LibraryExampleTests: XCTestCase {
    func testTheReadmeExampleRuns() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let tinyModel = root.appendingPathComponent("Tests/Fixtures/checkpoints/tiny_sequnet_c4_l2_d1_k3.safetensors").path
        let promptClasses = (0..<200).map { 128 + Int(20 * sin(Double($0) / 9)) }
        var played: [Float] = []
        func play(_ sample: Float) { played.append(sample) }

        // --- README example, verbatim from here ---
        let model = try Model(contentsOf: tinyModel)   // README: "models/sequnet-piano.safetensors"
        let stream = model.makeStream()            // any number of streams share the weights
        stream.prime(with: promptClasses)          // mu-law classes; [] starts from silence
        let sampler = CategoricalSampler(temperature: 1, seed: 42)
        for _ in 0..<16_000 {
            let next = sampler.sample(stream.logits)   // logits predict the next sample
            stream.step(next)                          // allocates nothing
            play(MuLawAudio.decode(UInt8(next)))
        }
        // --- end of the example ---

        XCTAssertEqual(played.count, 16_000)
        XCTAssertTrue(played.allSatisfy { $0 >= -1 && $0 <= 1 })
        XCTAssertGreaterThan(Set(played).count, 10, "a model's output is not one class")
    }
}
