import Foundation

/// One independent WaveNet stream: per layer, the last d inputs (its dilation),
/// the skip sum and scratch. Allocated once; `step` allocates nothing.
public final class WaveNetState: @unchecked Sendable {
    public let weights: WaveNetWeights

    private let arena: FloatBuffer
    /// Per layer: `d` past input vectors of R floats, slot `time mod d`.
    private let history: [UnsafeMutablePointer<Float>]
    private let dilations: [Int]
    private var time = 0
    private let x: UnsafeMutablePointer<Float>        // R
    private let gated: UnsafeMutablePointer<Float>    // 2Dc pre-activation, then Dc
    private let z: UnsafeMutablePointer<Float>        // Dc
    private let resSkip: UnsafeMutablePointer<Float>  // R+S
    private let skip: UnsafeMutablePointer<Float>     // S
    private let hidden: UnsafeMutablePointer<Float>   // S
    /// The latest logits, `classes` floats.
    public let logits: UnsafeMutablePointer<Float>

    public init(weights: WaveNetWeights) {
        self.weights = weights
        let config = weights.config
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels
        dilations = (0..<config.layerCount).map { config.dilation(ofLayer: $0) }
        let total = dilations.reduce(0, +) * r + r + 2 * dc + dc + (r + s) + 2 * s + config.classes + 64
        arena = FloatBuffer(count: total)
        var cursor = arena.pointer
        func carve(_ n: Int) -> UnsafeMutablePointer<Float> {
            defer { cursor += n }
            return cursor
        }
        history = dilations.map { carve($0 * r) }
        x = carve(r)
        gated = carve(2 * dc)
        z = carve(dc)
        resSkip = carve(r + s)
        skip = carve(s)
        hidden = carve(s)
        logits = carve(config.classes)
    }

    func reset() {
        arena.zero()
        time = 0
    }

    /// Feeds one class and computes the logits for the next sample.
    func step(_ inputClass: Int) {
        let w = weights, config = w.config
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels

        x.update(from: w.startTable.pointer + inputClass * r, count: r)
        for o in 0..<r { x[o] += w.startBias[o] }
        skip.update(repeating: 0, count: s)

        for l in 0..<dilations.count {
            // The slot for time t holds x[t-d] until we overwrite it with x[t].
            let slot = history[l] + (time & (dilations[l] - 1)) * r
            let layer = w.dilated[l]
            gated.update(from: layer.bias.pointer, count: 2 * dc)
            multiplyAccumulateColumns(layer.matrix.pointer, rows: 2 * dc, columns: r, stride: 2 * r,
                                      slot, into: gated)
            multiplyAccumulateColumns(layer.matrix.pointer + r, rows: 2 * dc, columns: r, stride: 2 * r,
                                      x, into: gated)
            slot.update(from: x, count: r)
            for o in 0..<dc { z[o] = tanhf(gated[o]) * sigmoid(gated[dc + o]) }

            resSkip.update(from: w.residualSkipBias[l].pointer, count: r + s)
            multiplyAccumulate(w.residualSkip[l].pointer, rows: r + s, columns: dc, z, into: resSkip)
            for o in 0..<r { x[o] += resSkip[o] }
            for o in 0..<s { skip[o] += resSkip[r + o] }
        }

        for o in 0..<s { skip[o] = max(skip[o], 0) }
        hidden.update(from: w.end1Bias.pointer, count: s)
        multiplyAccumulate(w.end1.pointer, rows: s, columns: s, skip, into: hidden)
        for o in 0..<s { hidden[o] = max(hidden[o], 0) }
        logits.update(from: w.end2Bias.pointer, count: config.classes)
        multiplyAccumulate(w.end2.pointer, rows: config.classes, columns: s, hidden, into: logits)
        time += 1
    }
}

extension WaveNetState {
    var stateBytes: Int { arena.count * MemoryLayout<Float>.size }
}
