/// The streams of a batch over one Seq-U-Net: every layer's ring buffer at
/// its own time scale, the per-level shortcut and "next" vectors, and the
/// clock phase, which all streams of the batch share. Each layer that ticks
/// is one packed-matrix product over the whole batch. Allocated once; `step`
/// allocates nothing and touches no reference counts.
public final class SeqUNetState: NetworkState, @unchecked Sendable {
    public let weights: SeqUNetWeights
    let config: SeqUNetConfig
    public let batch: Int
    /// Threads sharing each product's rows, if more than the caller's.
    let team: RowTeam?

    /// Position of the next sample within the clock cycle: level i ticks
    /// when `phase` is a multiple of 2^i.
    var phase = 0

    let arena: FloatArena
    /// Per stream, the last `classSpan` input classes, twice over (see
    /// `WindowRing`): the input conv reads the newest K, the folded first
    /// down conv all 2K-1.
    let classRing: UnsafeMutablePointer<Int32>
    let classSpan: Int
    var classSlot = 0
    /// Inputs fed since the reset, counted up to K-1. From then on level 0's
    /// first down conv has no reset zeros in its window and, with fp32
    /// weights, is computed from the folded tables (`FoldedInputConv`).
    var inputsFed = 0
    /// The weights' folded tables (fp32 weights), as raw pointers.
    let foldedInput: FoldedInputKernel?

    // Layers in flat arrays, indexed [level * depth + j] or [level].
    let downKernels: UnsafeMutablePointer<GatedKernel>       // (L-1)*D
    let downsampleKernels: UnsafeMutablePointer<GatedKernel> // L-1
    let bottleneckKernels: UnsafeMutablePointer<GatedKernel> // D
    let upsampleKernels: UnsafeMutablePointer<GatedKernel>   // L-1
    let upKernels: UnsafeMutablePointer<GatedKernel>         // (L-1)*D
    let outputMatrix: PackedMatrixView

    // Their input windows, in the same order.
    let downRings: UnsafeMutablePointer<WindowRing>       // C-vectors at level i
    let downsampleRings: UnsafeMutablePointer<WindowRing> // shortcuts h_i
    let bottleneckRings: UnsafeMutablePointer<WindowRing>
    let upsampleRings: UnsafeMutablePointer<WindowRing>   // level i+1 up-path outputs
    let upRings: UnsafeMutablePointer<WindowRing>         // concat(c, up), 2C-vectors
    let ringCount: Int

    // Per-stream vectors, stream after stream (B of each).
    let shortcuts: UnsafeMutablePointer<Float>  // h_i, (L-1) x B x C
    let nextUp: UnsafeMutablePointer<Float>     // "next" of upconv i, (L-1) x B x C
    let nowUp: UnsafeMutablePointer<Float>      // B x C
    let current: UnsafeMutablePointer<Float>    // B x C, the vectors flowing through
    let scratch: UnsafeMutablePointer<Float>    // B x 4C and padding: pre-activations
    let rectified: UnsafeMutablePointer<Float>  // B x C
    /// The latest logits, `classes` floats per stream.
    public let outputs: UnsafeMutablePointer<Float>

    public init(weights: SeqUNetWeights, batch: Int, team: RowTeam? = nil) {
        precondition(batch >= 1)
        self.team = team
        let config = weights.config
        (self.weights, self.config, self.batch) = (weights, config, batch)
        let c = config.features, k = config.kernelSize, d = config.depth, l = config.levels
        let m = (k + 1) / 2
        let arena = FloatArena(count: config.stateArenaFloats(batch: batch))
        self.arena = arena
        let carve = arena.carve
        func kernels(_ list: [GatedLayerWeights]) -> UnsafeMutablePointer<GatedKernel> {
            let p = UnsafeMutablePointer<GatedKernel>.allocate(capacity: max(list.count, 1))
            p.initialize(from: list.map(\.kernel), count: list.count)
            return p
        }
        downKernels = kernels(weights.downConvs.flatMap { $0 })
        downsampleKernels = kernels(weights.downsampling)
        bottleneckKernels = kernels(weights.bottleneck)
        upsampleKernels = kernels(weights.upsampling)
        upKernels = kernels(weights.upConvs.flatMap { $0 })
        outputMatrix = weights.outputMatrix.view
        foldedInput = weights.foldedInput?.kernel

        var rings: [WindowRing] = []
        func ring(dimension: Int, taps: Int) -> WindowRing {
            WindowRing(base: carve(WindowRing.floats(dimension: dimension, taps: taps, streams: batch)),
                       dimension: dimension, taps: taps, streams: batch)
        }
        for _ in 0..<((l - 1) * d + (l - 1) + d) { rings.append(ring(dimension: c, taps: k)) }
        for _ in 0..<(l - 1) { rings.append(ring(dimension: c, taps: m)) }
        for _ in 0..<((l - 1) * d) { rings.append(ring(dimension: 2 * c, taps: k)) }
        ringCount = rings.count
        let ringStorage = UnsafeMutablePointer<WindowRing>.allocate(capacity: rings.count)
        ringStorage.initialize(from: rings, count: rings.count)
        downRings = ringStorage
        downsampleRings = downRings + (l - 1) * d
        bottleneckRings = downsampleRings + (l - 1)
        upsampleRings = bottleneckRings + d
        upRings = upsampleRings + (l - 1)

        classSpan = config.classSpan
        classRing = UnsafeMutablePointer<Int32>.allocate(capacity: batch * 2 * classSpan)
        shortcuts = carve((l - 1) * batch * c)
        nextUp = carve((l - 1) * batch * c)
        nowUp = carve(batch * c)
        current = carve(batch * c)
        scratch = carve(batch * GatedLayerWeights.preActivationFloats(channels: c, units: 2))
        rectified = carve(batch * c)
        outputs = carve(batch * config.classes)
        reset(phase: 0)
    }

    deinit {
        for p in [downKernels, downsampleKernels, bottleneckKernels, upsampleKernels, upKernels] { p.deallocate() }
        downRings.deinitialize(count: ringCount)
        downRings.deallocate()
        classRing.deallocate()
    }

    public var stateBytes: Int { config.streamStateBytes(batch: batch) }

    public var nextTickLevel: Int { phase == 0 ? config.levels - 1 : phase.trailingZeroBitCount }

    /// Zeroes every buffer and sets the phase of the next sample. The class
    /// windows hold class 0 until 2K-1 inputs have been fed. What the first
    /// steps compute from them lies outside the receptive field of anything
    /// read after priming, which feeds the whole input size (more than 2K).
    public func reset(phase: Int) {
        arena.buffer.zero()
        classRing.initialize(repeating: 0, count: batch * 2 * classSpan)
        classSlot = 0
        inputsFed = 0
        for r in 0..<ringCount { downRings[r].rewind() }
        self.phase = phase
    }

    public func snapshot() -> NetworkStateSnapshot {
        let classes = (0..<(batch * 2 * classSpan)).map { Int(classRing[$0]) }
        return NetworkStateSnapshot(floats: arena.copied,
                                    integers: [phase, classSlot, inputsFed] + (0..<ringCount).map { downRings[$0].writeSlot }
                                        + classes,
                                    batch: batch)
    }

    public func restore(_ snapshot: NetworkStateSnapshot) {
        precondition(snapshot.batch == batch)
        arena.restore(snapshot.floats)
        let ints = snapshot.integers
        (phase, classSlot, inputsFed) = (ints[0], ints[1], ints[2])
        for r in 0..<ringCount { downRings[r].restore(writeSlot: ints[3 + r]) }
        for i in 0..<(batch * 2 * classSpan) { classRing[i] = Int32(ints[3 + ringCount + i]) }
    }

    /// Feeds one class per stream and computes each stream's logits for the next sample.
    public func step(_ inputs: UnsafePointer<Int>) {
        let c = config.features, k = config.kernelSize, levels = config.levels, depth = config.depth
        let batch = self.batch, bc = batch * c

        // Highest level whose clock ticks at this sample.
        let top = phase == 0 ? levels - 1 : phase.trailingZeroBitCount

        // Input conv: the bias plus one weight column per tap, picked by class.
        let span = classSpan
        classSlot = classSlot + 1 == span ? 0 : classSlot + 1
        let table = weights.inputTable
        for b in 0..<batch {
            let ring = classRing + b * 2 * span
            ring[classSlot] = Int32(inputs[b])
            ring[classSlot + span] = Int32(inputs[b])
            let vector = current + b * c
            vector.update(from: weights.inputBias.pointer, count: c)
            // The newest K of the window, which starts at classSlot + 1.
            for j in 0..<k {
                let column = table.column(tap: j, class: Int(ring[classSlot + k + j]))
                for o in 0..<c { vector[o] += column[o] }
            }
        }
        let folded = inputsFed == k - 1 ? foldedInput : nil
        if inputsFed < k - 1 { inputsFed += 1 }

        // Down path: each level that ticks refines `current` and keeps a shortcut.
        var level = 0
        while level < levels - 1 && level <= top {
            for j in 0..<depth {
                if level == 0 && j == 0, let folded {
                    applyFolded(folded)
                } else {
                    apply(downKernels[level * depth + j], &downRings[level * depth + j])
                }
            }
            (shortcuts + level * bc).update(from: current, count: bc)
            downsampleRings[level].push(current, stride: c)
            if level + 1 <= top {
                let ring = downsampleRings[level]
                downsampleKernels[level].apply(batch: batch, window: ring.window, windowStride: ring.streamStride,
                                               vectors: current, scratch: scratch, team: team)
            }
            level += 1
        }
        if top == levels - 1 {
            for j in 0..<depth { apply(bottleneckKernels[j], &bottleneckRings[j]) }
        }

        // Up path, from the highest ticking level down to level 0. `current`
        // holds the up-path output of the level above.
        var i = min(top, levels - 2)
        while i >= 0 {
            let up: UnsafeMutablePointer<Float>
            if i == top {
                // Level i+1 did not tick: use the "next" vectors it left us.
                up = nextUp + i * bc
            } else {
                upsampleRings[i].push(current, stride: c)
                let ring = upsampleRings[i]
                upsampleKernels[i].applyUpsampling(batch: batch, window: ring.window, windowStride: ring.streamStride,
                                                   identity: current, now: nowUp, next: nextUp + i * bc, scratch: scratch, team: team)
                up = nowUp
            }
            current.update(from: shortcuts + i * bc, count: bc)
            for j in 0..<depth {
                let n = i * depth + j
                upRings[n].push(current, count: c, up, stride: c)
                let ring = upRings[n]
                upKernels[n].apply(batch: batch, window: ring.window, windowStride: ring.streamStride,
                                   vectors: current, scratch: scratch, team: team)
            }
            i -= 1
        }

        // Output: 1x1 conv after a ReLU.
        relu(current, count: bc, into: rectified)
        outputMatrix.multiply(rectified, plus: weights.outputBias.pointer, into: outputs, batch: batch, xStride: c,
                              yStride: config.classes, team: team)

        phase += 1
        if phase == config.cycles { phase = 0 }
    }

    /// Level 0's first down conv from the folded tables: per stream, its
    /// pre-activation is the base plus one table row per class of the last
    /// 2K-1 inputs. Its ring is kept as `apply` keeps it (a reset or a
    /// snapshot may need it), though the tables do not read it.
    @inline(__always)
    private func applyFolded(_ folded: FoldedInputKernel) {
        downRings[0].push(current, stride: config.features)
        let window = classRing + classSlot + 1, streamStride = 2 * classSpan
        folded.apply(downKernels[0], count: batch, classes: { b, d in Int(window[b * streamStride + d]) },
                     scratch: scratch, input: current, output: current)
    }

    /// A residual layer on `current`, its input pushed to its ring first.
    @inline(__always)
    private func apply(_ kernel: GatedKernel, _ ring: inout WindowRing) {
        ring.push(current, stride: config.features)
        kernel.apply(batch: batch, window: ring.window, windowStride: ring.streamStride, vectors: current, scratch: scratch,
                     team: team)
    }
}
