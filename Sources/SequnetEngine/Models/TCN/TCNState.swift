/// The streams of a batch over one TCN: for each conv, its last K inputs
/// spaced by the block's dilation (`DilatedWindowRing`). There is no clock;
/// zero state then one input per step is exactly the reference's forward.
/// Allocated once; `step` allocates nothing.
public final class TCNState: NetworkState, @unchecked Sendable {
    public let weights: TCNWeights
    let config: TCNConfig
    public let batch: Int
    let team: RowTeam?

    /// Steps fed since the reset (selects each dilated ring's residue).
    var time = 0

    let arena: FloatArena
    let conv1: [DenseConvKernel]
    let conv2: [DenseConvKernel]
    let downsample: [DenseConvKernel?]
    let linear: DenseConvKernel?
    let tokens: TokenLayersKernel?
    /// A language model's embedded inputs (B x inputs).
    let embedded: UnsafeMutablePointer<Float>?
    let rings1: [DilatedWindowRing]
    let rings2: [DilatedWindowRing]

    /// Per-stream vectors, `widest` floats apart.
    let widest: Int
    let blockInput: UnsafeMutablePointer<Float>  // x, B x widest
    let hidden: UnsafeMutablePointer<Float>      // relu(conv1), then relu(conv2), B x widest
    let residual: UnsafeMutablePointer<Float>    // downsample(x), B x widest
    /// The latest outputs, `config.outputs` floats per stream.
    public let outputs: UnsafeMutablePointer<Float>

    public init(weights: TCNWeights, batch: Int, team: RowTeam? = nil) {
        precondition(batch >= 1)
        let config = weights.config
        (self.weights, self.config, self.batch, self.team) = (weights, config, batch, team)
        widest = max(config.inputs, config.features, config.lastFeatures)
        arena = FloatArena(count: config.stateArenaFloats(batch: batch))
        conv1 = weights.conv1.map(\.kernel)
        conv2 = weights.conv2.map(\.kernel)
        downsample = weights.downsample.map { $0?.kernel }
        linear = weights.linear?.kernel
        tokens = weights.tokens?.kernel
        let carve = arena.carve
        rings1 = (0..<config.levels).map {
            DilatedWindowRing(carve: carve, dimension: config.blockInputs($0), taps: config.kernelSize,
                              dilation: config.dilation($0), streams: batch)
        }
        rings2 = (0..<config.levels).map {
            DilatedWindowRing(carve: carve, dimension: config.channels($0), taps: config.kernelSize,
                              dilation: config.dilation($0), streams: batch)
        }
        blockInput = carve(batch * widest)
        hidden = carve(batch * widest)
        residual = carve(batch * widest)
        outputs = carve(batch * config.outputs)
        embedded = tokens == nil ? nil : carve(batch * config.inputs)
        reset(phase: 0)
    }

    deinit { for ring in rings1 + rings2 { ring.deallocate() } }

    public var stateBytes: Int { config.streamStateBytes(batch: batch) }
    public var nextTickLevel: Int { 0 }

    /// Zeroes every window; a TCN has no phase.
    public func reset(phase: Int) {
        arena.buffer.zero()
        for ring in rings1 + rings2 { ring.rewind() }
        time = 0
    }

    public func snapshot() -> NetworkStateSnapshot {
        let slots = (rings1 + rings2).flatMap { ring in (0..<ring.dilation).map { ring.rings[$0].writeSlot } }
        return NetworkStateSnapshot(floats: arena.copied, integers: [time] + slots, batch: batch)
    }

    public func restore(_ snapshot: NetworkStateSnapshot) {
        precondition(snapshot.batch == batch)
        arena.restore(snapshot.floats)
        time = snapshot.integers[0]
        var next = 1
        for ring in rings1 + rings2 {
            for r in 0..<ring.dilation { ring.rings[r].restore(writeSlot: snapshot.integers[next]); next += 1 }
        }
    }

    /// Feeds one token per stream (a language model): its embedding row
    /// through the blocks, the last block's output through the decoder.
    public func step(_ inputs: UnsafePointer<Int>) {
        guard let tokens, let embedded else { preconditionFailure("a music TCN takes input vectors (step(vectors:))") }
        tokens.embed(inputs, batch: batch, into: embedded)
        stepBlocks(embedded)
        tokens.decode(blockInput, coreStride: widest, batch: batch, into: outputs, team: team)
    }

    /// Feeds one input vector per stream (a piano-roll frame) and computes
    /// every stream's outputs through the `linear` layer.
    public func step(vectors inputs: UnsafePointer<Float>) {
        guard let linear else { preconditionFailure("a language model takes tokens (step(_:))") }
        stepBlocks(inputs)
        linear.apply(batch: batch, window: blockInput, windowStride: widest, into: outputs, yStride: config.outputs,
                     activation: .none, team: team)
    }

    /// Every block over one input vector per stream, the last block's output
    /// left in `blockInput`: per block `relu(relu(conv2(relu(conv1(x)))) + res)`,
    /// res = x or its 1x1 conv.
    private func stepBlocks(_ inputs: UnsafePointer<Float>) {
        let w = widest, batch = self.batch
        for b in 0..<batch { (blockInput + b * w).update(from: inputs + b * config.inputs, count: config.inputs) }
        for i in 0..<config.levels {
            let c = config.channels(i)
            var window = rings1[i].push(blockInput, stride: w, time: time)
            conv1[i].apply(batch: batch, window: window, windowStride: rings1[i].streamStride, into: hidden, yStride: w,
                           activation: .relu, team: team)
            window = rings2[i].push(hidden, stride: w, time: time)
            conv2[i].apply(batch: batch, window: window, windowStride: rings2[i].streamStride, into: hidden, yStride: w,
                           activation: .relu, team: team)
            let res: UnsafePointer<Float>
            if let d = downsample[i] {
                d.apply(batch: batch, window: blockInput, windowStride: w, into: residual, yStride: w, activation: .none,
                        team: team)
                res = UnsafePointer(residual)
            } else {
                res = UnsafePointer(blockInput)
            }
            for b in 0..<batch {
                let x = blockInput + b * w, h = hidden + b * w, r = res + b * w
                for o in 0..<c { x[o] = max(h[o] + r[o], 0) }
            }
        }
        time += 1
    }
}
