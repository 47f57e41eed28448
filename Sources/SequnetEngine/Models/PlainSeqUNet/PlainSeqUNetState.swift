/// The streams of a batch over one plain Seq-U-Net: each conv's window of its
/// last K inputs at its own level's rate, each transposed conv's last
/// ceil(K/2) vectors of the level above, and the clock phase the streams
/// share. Level i computes only when the clock is a multiple of 2^i. All
/// buffers start at zero, which is the reference's causal zero padding.
/// Allocated once; `step` allocates nothing.
public final class PlainSeqUNetState: NetworkState, @unchecked Sendable {
    public let weights: PlainSeqUNetWeights
    let config: PlainSeqUNetConfig
    public let batch: Int
    let team: RowTeam?

    /// Position of the next step within the clock cycle.
    var phase = 0

    let arena: FloatArena
    // Layers, indexed by level.
    let levelConvs: UnsafeMutablePointer<DenseConvKernel>
    let downsampling: UnsafeMutablePointer<DenseConvKernel>
    let upsampling: UnsafeMutablePointer<DenseConvKernel>
    let upConvs: UnsafeMutablePointer<DenseConvKernel>
    let bottleneck: DenseConvKernel
    let output: DenseConvKernel
    // Their windows, same indices.
    let rings: UnsafeMutablePointer<WindowRing>
    let ringCount: Int
    let levelRings: UnsafeMutablePointer<WindowRing>       // x_i, at level i
    let downsamplingRings: UnsafeMutablePointer<WindowRing> // s_i, at level i
    let upsamplingRings: UnsafeMutablePointer<WindowRing>  // level i+1 outputs
    let upRings: UnsafeMutablePointer<WindowRing>          // concat(up_i, s_i), at level i
    let bottleneckRing: UnsafeMutablePointer<WindowRing>

    /// Per-stream vectors, `widest` floats apart.
    let widest: Int
    let shortcuts: UnsafeMutablePointer<Float>  // s_i, (L-1) x B x widest
    let nextUp: UnsafeMutablePointer<Float>     // up_i for the tick after the upper level's, (L-1) x B x widest
    let encoded: UnsafeMutablePointer<Float>    // x_{i+1}, B x widest
    let decoded: UnsafeMutablePointer<Float>    // v, B x widest
    let upPair: UnsafeMutablePointer<Float>     // both upsampled vectors, B x 2 widest
    /// The core's output conv, `config.outputs` floats per stream: the
    /// model's outputs, or for a language model what the decoder reads.
    let coreOutputs: UnsafeMutablePointer<Float>
    /// A language model's embedding and decoder, and its embedded inputs (B x inputs).
    let tokens: TokenLayersKernel?
    let embedded: UnsafeMutablePointer<Float>?
    /// The latest outputs per stream: `config.outputs` floats, or a language
    /// model's `vocabulary` logits.
    public let outputs: UnsafeMutablePointer<Float>

    public init(weights: PlainSeqUNetWeights, batch: Int, team: RowTeam? = nil) {
        precondition(batch >= 1)
        let config = weights.config
        (self.weights, self.config, self.batch, self.team) = (weights, config, batch, team)
        let l = config.levels, k = config.kernelSize
        widest = max(config.inputs, config.features, config.bottleneckFeatures)
        arena = FloatArena(count: config.stateArenaFloats(batch: batch))
        let carve = arena.carve
        func kernels(_ list: [DenseConvWeights]) -> UnsafeMutablePointer<DenseConvKernel> {
            let p = UnsafeMutablePointer<DenseConvKernel>.allocate(capacity: max(list.count, 1))
            p.initialize(from: list.map(\.kernel), count: list.count)
            return p
        }
        levelConvs = kernels(weights.levelConvs)
        downsampling = kernels(weights.downsampling)
        upsampling = kernels(weights.upsampling)
        upConvs = kernels(weights.upConvs)
        bottleneck = weights.bottleneck.kernel
        output = weights.output.kernel

        var list: [WindowRing] = []
        func ring(_ dimension: Int, _ taps: Int) -> WindowRing {
            WindowRing(base: carve(WindowRing.floats(dimension: dimension, taps: taps, streams: batch)),
                       dimension: dimension, taps: taps, streams: batch)
        }
        for i in 0..<(l - 1) { list.append(ring(config.levelInputs(i), k)) }
        for i in 0..<(l - 1) { list.append(ring(config.channels(i), k)) }
        for i in 0..<(l - 1) { list.append(ring(config.channels(i + 1), config.upsamplingTaps)) }
        for i in 0..<(l - 1) { list.append(ring(config.channels(i + 1) + config.channels(i), k)) }
        list.append(ring(config.channels(l - 2), k))
        ringCount = list.count
        rings = .allocate(capacity: list.count)
        rings.initialize(from: list, count: list.count)
        levelRings = rings
        downsamplingRings = rings + (l - 1)
        upsamplingRings = rings + 2 * (l - 1)
        upRings = rings + 3 * (l - 1)
        bottleneckRing = rings + 4 * (l - 1)

        shortcuts = carve((l - 1) * batch * widest)
        nextUp = carve((l - 1) * batch * widest)
        encoded = carve(batch * widest)
        decoded = carve(batch * widest)
        upPair = carve(batch * 2 * widest)
        coreOutputs = carve(batch * config.outputs)
        tokens = weights.tokens?.kernel
        embedded = tokens == nil ? nil : carve(batch * config.inputs)
        outputs = tokens == nil ? coreOutputs : carve(batch * config.vocabulary)
        reset(phase: 0)
    }

    deinit {
        for p in [levelConvs, downsampling, upsampling, upConvs] { p.deallocate() }
        rings.deinitialize(count: ringCount)
        rings.deallocate()
    }

    public var stateBytes: Int { config.streamStateBytes(batch: batch) }

    public var nextTickLevel: Int { phase == 0 ? config.levels - 1 : phase.trailingZeroBitCount }

    public func reset(phase: Int) {
        arena.buffer.zero()
        for r in 0..<ringCount { rings[r].rewind() }
        self.phase = phase
    }

    public func snapshot() -> NetworkStateSnapshot {
        NetworkStateSnapshot(floats: arena.copied, integers: [phase] + (0..<ringCount).map { rings[$0].writeSlot }, batch: batch)
    }

    public func restore(_ snapshot: NetworkStateSnapshot) {
        precondition(snapshot.batch == batch)
        arena.restore(snapshot.floats)
        phase = snapshot.integers[0]
        for r in 0..<ringCount { rings[r].restore(writeSlot: snapshot.integers[1 + r]) }
    }

    /// Feeds one token per stream (a language model): its embedding row
    /// through the core, the core's output through the decoder.
    public func step(_ inputs: UnsafePointer<Int>) {
        guard let tokens, let embedded else { preconditionFailure("a music Seq-U-Net takes input vectors (step(vectors:))") }
        tokens.embed(inputs, batch: batch, into: embedded)
        stepCore(embedded)
        tokens.decode(coreOutputs, coreStride: config.outputs, batch: batch, into: outputs, team: team)
    }

    /// Feeds one input vector per stream (`config.inputs` floats each, a
    /// piano-roll frame) and computes every stream's outputs.
    public func step(vectors inputs: UnsafePointer<Float>) {
        precondition(tokens == nil, "a language model takes tokens (step(_:))")
        stepCore(inputs)
    }

    /// The core over one input vector per stream (SPEC-symbolic.md, "Streaming"),
    /// its output conv into `coreOutputs`.
    private func stepCore(_ inputs: UnsafePointer<Float>) {
        let l = config.levels, w = widest, batch = self.batch
        let top = phase == 0 ? l - 1 : phase.trailingZeroBitCount

        // Encoder: level i refines its input into the shortcut s_i and, when
        // level i+1 ticks too, strides it down into x_{i+1} (`encoded`).
        var i = 0
        while i <= min(top, l - 2) {
            let s = shortcuts + i * batch * w
            if i == 0 { levelRings[0].push(inputs, stride: config.inputs) } else { levelRings[i].push(encoded, stride: w) }
            apply(levelConvs[i], levelRings[i], into: s, stride: w, activation: .leakyReLU)
            downsamplingRings[i].push(s, stride: w)
            if i + 1 <= top { apply(downsampling[i], downsamplingRings[i], into: encoded, stride: w, activation: .leakyReLU) }
            i += 1
        }
        if top == l - 1 {
            bottleneckRing.pointee.push(encoded, stride: w)
            apply(bottleneck, bottleneckRing.pointee, into: decoded, stride: w, activation: .leakyReLU)
        }

        // Decoder, from the highest ticking level down: `decoded` holds the
        // output v of the level above.
        i = min(top, l - 2)
        while i >= 0 {
            let upper = config.channels(i + 1), next = nextUp + i * batch * w
            if i != top {
                // The upper level just ticked: both upsampled vectors from its window.
                upsamplingRings[i].push(decoded, stride: w)
                apply(upsampling[i], upsamplingRings[i], into: upPair, stride: 2 * w, activation: .leakyReLU)
                // The first half now (into `encoded`, free once the encoder is
                // done), the second kept for the next level-i tick.
                for b in 0..<batch {
                    (encoded + b * w).update(from: upPair + b * 2 * w, count: upper)
                    (next + b * w).update(from: upPair + b * 2 * w + upper, count: upper)
                }
                upRings[i].push(encoded, count: upper, shortcuts + i * batch * w, stride: w)
            } else {
                upRings[i].push(next, count: upper, shortcuts + i * batch * w, stride: w)
            }
            apply(upConvs[i], upRings[i], into: decoded, stride: w, activation: .leakyReLU)
            i -= 1
        }

        output.apply(batch: batch, window: decoded, windowStride: w, into: coreOutputs, yStride: config.outputs,
                     activation: .none, team: team)
        phase += 1
        if phase == config.cycles { phase = 0 }
    }

    @inline(__always)
    private func apply(_ kernel: DenseConvKernel, _ ring: WindowRing, into y: UnsafeMutablePointer<Float>, stride: Int,
                       activation: DenseActivation) {
        kernel.apply(batch: batch, window: ring.window, windowStride: ring.streamStride, into: y, yStride: stride,
                     activation: activation, team: team)
    }
}
