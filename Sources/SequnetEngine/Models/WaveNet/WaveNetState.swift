/// The streams of a batch over one WaveNet: per layer and stream, the inputs
/// of the last d steps (its dilation), and every layer's gated output for the
/// deferred skip sum. Each layer is one packed-matrix product over the whole
/// batch. Allocated once; `step` allocates nothing.
public final class WaveNetState: NetworkState, @unchecked Sendable {
    public let weights: WaveNetWeights
    let config: WaveNetConfig
    public let batch: Int
    /// Threads sharing each product's rows, if more than the caller's.
    let team: RowTeam?

    let arena: FloatArena
    /// Per layer: for each stream, the last `d` inputs, `d` slots of `R`
    /// floats (streams `d * R` apart). Slot `t mod d` holds x[t-d] until x[t]
    /// replaces it.
    let history: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    let dilations: UnsafeMutablePointer<Int>
    let kernels: UnsafeMutablePointer<GatedKernel>
    let residual: UnsafeMutablePointer<PackedMatrixView>
    let residualBias: UnsafeMutablePointer<UnsafePointer<Float>>
    let skipAll: PackedMatrixView, end1: PackedMatrixView, end2: PackedMatrixView
    var time = 0
    // Per-stream vectors, stream after stream.
    let x: UnsafeMutablePointer<Float>        // B x R
    let gated: UnsafeMutablePointer<Float>    // B x 2Dc pre-activation
    let zAll: UnsafeMutablePointer<Float>     // B x (layers x Dc) gated outputs
    let skip: UnsafeMutablePointer<Float>     // B x S
    let hidden: UnsafeMutablePointer<Float>   // B x S
    /// The latest logits, `classes` floats per stream.
    public let outputs: UnsafeMutablePointer<Float>

    public init(weights: WaveNetWeights, batch: Int, team: RowTeam? = nil) {
        precondition(batch >= 1)
        self.team = team
        let config = weights.config
        (self.weights, self.config, self.batch) = (weights, config, batch)
        skipAll = weights.skipAll.view
        end1 = weights.end1.view
        end2 = weights.end2.view
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels
        let layers = config.layerCount
        let dilationList = (0..<layers).map { config.dilation(ofLayer: $0) }
        let arena = FloatArena(count: config.stateArenaFloats(batch: batch))
        self.arena = arena
        let carve = arena.carve
        history = .allocate(capacity: layers)
        dilations = .allocate(capacity: layers)
        kernels = .allocate(capacity: layers)
        residual = .allocate(capacity: layers)
        residualBias = .allocate(capacity: layers)
        for l in 0..<layers {
            dilations[l] = dilationList[l]
            (history + l).initialize(to: carve(batch * dilationList[l] * r))
            (kernels + l).initialize(to: weights.dilated[l].kernel)
            (residual + l).initialize(to: weights.residual[l].view)
            (residualBias + l).initialize(to: UnsafePointer(weights.residualBias[l].pointer))
        }
        x = carve(batch * r)
        gated = carve(batch * GatedLayerWeights.preActivationFloats(channels: dc))
        zAll = carve(batch * layers * dc)
        skip = carve(batch * s)
        hidden = carve(batch * s)
        outputs = carve(batch * config.classes)
    }

    deinit {
        history.deallocate(); dilations.deallocate(); kernels.deallocate()
        residual.deallocate(); residualBias.deallocate()
    }

    public var stateBytes: Int { arena.bytes }   // = config.streamStateBytes(batch:)

    /// One clock rate: nothing to schedule.
    public var nextTickLevel: Int { 0 }

    public func snapshot() -> NetworkStateSnapshot {
        NetworkStateSnapshot(floats: arena.copied, integers: [time], batch: batch)
    }

    public func restore(_ snapshot: NetworkStateSnapshot) {
        precondition(snapshot.batch == batch)
        arena.restore(snapshot.floats)
        time = snapshot.integers[0]
    }

    /// Zeroes every layer's history; a WaveNet has one clock, so `phase` is always 0.
    public func reset(phase: Int) {
        arena.buffer.zero()
        time = 0
    }

    /// Feeds one class per stream and computes each stream's logits for the next sample.
    public func step(_ inputs: UnsafePointer<Int>) {
        let r = config.residualChannels, dc = config.dilationChannels
        let layers = config.layerCount, batch = self.batch

        for b in 0..<batch {
            let xb = x + b * r
            xb.update(from: weights.startTable.column(tap: 0, class: inputs[b]), count: r)
            for o in 0..<r { xb[o] += weights.startBias[o] }
        }
        for l in 0..<layers {
            let d = dilations[l]
            let slot = history[l] + (time & (d - 1)) * r
            let kernel = kernels[l]
            // Columns 0..<R take x[t-d] (still in the slot), R..<2R take x[t].
            kernel.applyWithoutResidual(batch: batch, slot, stride: d * r, split: r, x, stride: r,
                                        output: zAll + l * dc, outputStride: layers * dc, scratch: gated, team: team)
            for b in 0..<batch { (slot + b * d * r).update(from: x + b * r, count: r) }
            if l < layers - 1 {   // the last layer's residual output is never read
                let bias = residualBias[l]
                for b in 0..<batch {
                    let xb = x + b * r
                    for o in 0..<r { xb[o] += bias[o] }
                }
                residual[l].multiplyAccumulate(zAll + l * dc, into: x, batch: batch, xStride: layers * dc, yStride: r, team: team)
            }
        }

        computeOutputs()
        time += 1
    }

    /// The skips and the end convs: the logits from every layer's gated output (`zAll`).
    func computeOutputs() {
        let dc = config.dilationChannels, s = config.skipChannels, layers = config.layerCount
        let classes = config.classes, batch = self.batch
        skipAll.multiply(zAll, plus: weights.skipBiasSum.pointer, into: skip, batch: batch, xStride: layers * dc, yStride: s,
                         team: team)
        relu(skip, count: batch * s, into: skip)
        end1.multiply(skip, plus: weights.end1Bias.pointer, into: hidden, batch: batch, xStride: s, yStride: s, team: team)
        relu(hidden, count: batch * s, into: hidden)
        end2.multiply(hidden, plus: weights.end2Bias.pointer, into: outputs, batch: batch, xStride: s, yStride: classes,
                      team: team)
    }
}
