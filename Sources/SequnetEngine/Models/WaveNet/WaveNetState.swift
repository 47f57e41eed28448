/// One independent WaveNet stream: per layer, the inputs of the last d steps
/// (its dilation), and every layer's gated output for the deferred skip sum.
/// Allocated once; `step` allocates nothing.
public final class WaveNetState: NetworkState, @unchecked Sendable {
    public let weights: WaveNetWeights
    private let config: WaveNetConfig

    private let arena: FloatBuffer
    /// Per layer: the last `d` inputs, `d` slots of `R` floats. Slot `t mod d`
    /// holds x[t-d] until x[t] replaces it.
    private let history: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    private let dilations: UnsafeMutablePointer<Int>
    private let kernels: UnsafeMutablePointer<GatedKernel>
    private let residual: UnsafeMutablePointer<PackedMatrixView>
    private let residualBias: UnsafeMutablePointer<UnsafePointer<Float>>
    private let skipAll: PackedMatrixView, end1: PackedMatrixView, end2: PackedMatrixView
    private var time = 0
    private let x: UnsafeMutablePointer<Float>        // R
    private let gated: UnsafeMutablePointer<Float>    // 2Dc pre-activation
    private let zAll: UnsafeMutablePointer<Float>     // layers x Dc gated outputs
    private let skip: UnsafeMutablePointer<Float>     // S
    private let hidden: UnsafeMutablePointer<Float>   // S
    /// The latest logits, `classes` floats.
    public let outputs: UnsafeMutablePointer<Float>

    public init(weights: WaveNetWeights) {
        self.weights = weights
        let config = weights.config
        self.config = config
        skipAll = weights.skipAll.view
        end1 = weights.end1.view
        end2 = weights.end2.view
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels
        let layers = config.layerCount
        let dilationList = (0..<layers).map { config.dilation(ofLayer: $0) }
        let total = dilationList.reduce(0, +) * r + r + 2 * dc + layers * dc + 2 * s + config.classes + 64
        arena = FloatBuffer(count: total)
        var cursor = arena.pointer
        func carve(_ n: Int) -> UnsafeMutablePointer<Float> {
            defer { cursor += n }
            return cursor
        }
        history = .allocate(capacity: layers)
        dilations = .allocate(capacity: layers)
        kernels = .allocate(capacity: layers)
        residual = .allocate(capacity: layers)
        residualBias = .allocate(capacity: layers)
        for l in 0..<layers {
            dilations[l] = dilationList[l]
            (history + l).initialize(to: carve(dilationList[l] * r))
            (kernels + l).initialize(to: weights.dilated[l].kernel)
            (residual + l).initialize(to: weights.residual[l].view)
            (residualBias + l).initialize(to: UnsafePointer(weights.residualBias[l].pointer))
        }
        x = carve(r)
        gated = carve(2 * dc)
        zAll = carve(layers * dc)
        skip = carve(s)
        hidden = carve(s)
        outputs = carve(config.classes)
    }

    deinit {
        history.deallocate(); dilations.deallocate(); kernels.deallocate()
        residual.deallocate(); residualBias.deallocate()
    }

    public var stateBytes: Int { arena.count * MemoryLayout<Float>.size }

    /// One clock rate: nothing to schedule.
    public var nextTickLevel: Int { 0 }

    /// Zeroes every layer's history; a WaveNet has one clock, so `phase` is always 0.
    public func reset(phase: Int) {
        arena.zero()
        time = 0
    }

    /// Feeds one class and computes the logits for the next sample.
    public func step(_ inputClass: Int) {
        let r = config.residualChannels, dc = config.dilationChannels, s = config.skipChannels
        let layers = config.layerCount

        x.update(from: weights.startTable.pointer + inputClass * r, count: r)
        for o in 0..<r { x[o] += weights.startBias[o] }

        for l in 0..<layers {
            let slot = history[l] + (time & (dilations[l] - 1)) * r
            let kernel = kernels[l]
            gated.update(from: kernel.bias, count: 2 * dc)
            // Columns 0..<R take x[t-d] (still in the slot), R..<2R take x[t].
            kernel.matrix.multiplyAccumulate(slot, split: r, x, into: gated)
            slot.update(from: x, count: r)
            let z = zAll + l * dc
            gatedActivation(preActivation: gated, outputs: dc, output: z)
            if l < layers - 1 {   // the last layer's residual output is never read
                let bias = residualBias[l]
                for o in 0..<r { x[o] += bias[o] }
                residual[l].multiplyAccumulate(z, into: x)
            }
        }

        skip.update(from: weights.skipBiasSum.pointer, count: s)
        skipAll.multiplyAccumulate(zAll, into: skip)
        relu(skip, count: s, into: skip)
        hidden.update(from: weights.end1Bias.pointer, count: s)
        end1.multiplyAccumulate(skip, into: hidden)
        relu(hidden, count: s, into: hidden)
        outputs.update(from: weights.end2Bias.pointer, count: config.classes)
        end2.multiplyAccumulate(hidden, into: outputs)
        time += 1
    }
}
