import XCTest
@testable import SequnetBench
@testable import SequnetEngine

/// What `sequnet bench` reasons with: which weights are read how often, and
/// which matrix shapes a model multiplies by.
final class CostModelTests: XCTestCase {
    func testWeightReadsByPeriodAddUpToTheReadsPerSample() throws {
        for name in Fixtures.names {
            let model = try Fixtures.model(name)
            let reads = model.weightReads
            let total = reads.reduce(0) { $0 + $1.bytesPerSample }
            XCTAssertEqual(total, model.weightBytesPerSample, accuracy: 1e-9 * total, name)
            // One group per clock period: every sample, then every 2^i samples up to a cycle.
            let periods = reads.map(\.periodSamples)
            XCTAssertEqual(periods, (0..<model.config.timeScales).map { 1 << $0 }, name)
        }
    }

    func testKernelComparisonCoversEveryLayerOnce() throws {
        // Seq-U-Net, L levels, depth D: per level below the bottleneck D down convs, a
        // downsampling conv, an upsampling conv and D up convs; D bottleneck convs; the output conv.
        let seqUNet = try Fixtures.model("sequnet_c16_l4_d1_k5")
        let (levels, depth) = (4, 1)
        let seqUNetLayers = (levels - 1) * (2 * depth + 2) + depth + 1
        // WaveNet: per layer the dilated conv and the residual+skip conv; two end convs.
        let waveNet = try Fixtures.model("wavenet_l4_b2_r16_d16_s32")
        let waveNetLayers = 2 * 8 + 2

        for (model, layers) in [(seqUNet, seqUNetLayers), (waveNet, waveNetLayers)] {
            let timings = SGEMVReplay(model: model).compareKernels(secondsPerShape: 1e-6)
            XCTAssertEqual(timings.reduce(0) { $0 + $1.count }, layers)
            let shapes = timings.map { [$0.rows, $0.columns] }
            XCTAssertEqual(Set(shapes).count, shapes.count, "each shape once")
            for t in timings {
                XCTAssertGreaterThan(t.panelNanos, 0)
                XCTAssertGreaterThan(t.sgemvNanos, 0)
            }
        }
    }
}
