/// One independent Seq-U-Net stream: every layer's ring buffer at its own time
/// scale, the per-level shortcut and "next" vectors, and the clock phase.
/// Allocated once; `step` allocates nothing and touches no reference counts.
public final class SeqUNetState: NetworkState, @unchecked Sendable {
    public let weights: SeqUNetWeights
    private let config: SeqUNetConfig

    /// Position of the next sample within the clock cycle: level i ticks
    /// when `phase` is a multiple of 2^i.
    private(set) var phase = 0

    private let arena: FloatBuffer
    /// Last K input classes, twice over (see `WindowRing`).
    private let classRing: UnsafeMutablePointer<Int32>
    private var classSlot = 0

    // Layers in flat arrays, indexed [level * depth + j] or [level].
    private let downKernels: UnsafeMutablePointer<GatedKernel>       // (L-1)*D
    private let downsampleKernels: UnsafeMutablePointer<GatedKernel> // L-1
    private let bottleneckKernels: UnsafeMutablePointer<GatedKernel> // D
    private let upsampleKernels: UnsafeMutablePointer<GatedKernel>   // L-1
    private let upKernels: UnsafeMutablePointer<GatedKernel>         // (L-1)*D
    private let outputMatrix: PackedMatrixView

    // Their input windows, in the same order.
    private let downRings: UnsafeMutablePointer<WindowRing>       // C-vectors at level i
    private let downsampleRings: UnsafeMutablePointer<WindowRing> // shortcuts h_i
    private let bottleneckRings: UnsafeMutablePointer<WindowRing>
    private let upsampleRings: UnsafeMutablePointer<WindowRing>   // level i+1 up-path outputs
    private let upRings: UnsafeMutablePointer<WindowRing>         // concat(c, up), 2C-vectors
    private let ringCount: Int

    private let shortcuts: UnsafeMutablePointer<Float>  // h_i, (L-1) x C
    private let nextUp: UnsafeMutablePointer<Float>     // "next" of upconv i, (L-1) x C
    private let nowUp: UnsafeMutablePointer<Float>      // C
    private let current: UnsafeMutablePointer<Float>    // C, the vector flowing through
    private let scratch: UnsafeMutablePointer<Float>    // 4C
    private let rectified: UnsafeMutablePointer<Float>  // C
    /// The latest logits, `classes` floats.
    public let outputs: UnsafeMutablePointer<Float>

    public init(weights: SeqUNetWeights) {
        self.weights = weights
        let config = weights.config
        self.config = config
        let c = config.features, k = config.kernelSize, d = config.depth, l = config.levels
        let m = (k + 1) / 2
        let ringC = WindowRing.floats(dimension: c, taps: k)
        let total = (l - 1) * d * ringC + (l - 1) * ringC + d * ringC
            + (l - 1) * WindowRing.floats(dimension: c, taps: m)
            + (l - 1) * d * WindowRing.floats(dimension: 2 * c, taps: k)
            + 2 * (l - 1) * c + 7 * c + config.classes + 64
        arena = FloatBuffer(count: total)
        var cursor = arena.pointer
        func carve(_ n: Int) -> UnsafeMutablePointer<Float> {
            defer { cursor += n }
            return cursor
        }
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

        var rings: [WindowRing] = []
        for _ in 0..<((l - 1) * d) { rings.append(WindowRing(base: carve(ringC), dimension: c, taps: k)) }
        for _ in 0..<(l - 1) { rings.append(WindowRing(base: carve(ringC), dimension: c, taps: k)) }
        for _ in 0..<d { rings.append(WindowRing(base: carve(ringC), dimension: c, taps: k)) }
        for _ in 0..<(l - 1) {
            rings.append(WindowRing(base: carve(WindowRing.floats(dimension: c, taps: m)), dimension: c, taps: m))
        }
        for _ in 0..<((l - 1) * d) {
            rings.append(WindowRing(base: carve(WindowRing.floats(dimension: 2 * c, taps: k)), dimension: 2 * c, taps: k))
        }
        ringCount = rings.count
        let ringStorage = UnsafeMutablePointer<WindowRing>.allocate(capacity: rings.count)
        ringStorage.initialize(from: rings, count: rings.count)
        downRings = ringStorage
        downsampleRings = downRings + (l - 1) * d
        bottleneckRings = downsampleRings + (l - 1)
        upsampleRings = bottleneckRings + d
        upRings = upsampleRings + (l - 1)

        classRing = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * k)
        shortcuts = carve((l - 1) * c)
        nextUp = carve((l - 1) * c)
        nowUp = carve(c)
        current = carve(c)
        scratch = carve(4 * c)
        rectified = carve(c)
        outputs = carve(config.classes)
        reset(phase: 0)
    }

    deinit {
        for p in [downKernels, downsampleKernels, bottleneckKernels, upsampleKernels, upKernels] { p.deallocate() }
        downRings.deinitialize(count: ringCount)
        downRings.deallocate()
        classRing.deallocate()
    }

    public var stateBytes: Int { arena.count * MemoryLayout<Float>.size + 2 * config.kernelSize * 4 }

    public var nextTickLevel: Int { phase == 0 ? config.levels - 1 : phase.trailingZeroBitCount }

    /// Zeroes every buffer and sets the phase of the next sample. The class
    /// window holds class 0 until K inputs have been fed; priming always feeds
    /// at least that many (the input size exceeds K), so it is never read.
    public func reset(phase: Int) {
        arena.zero()
        classRing.initialize(repeating: 0, count: 2 * config.kernelSize)
        classSlot = 0
        for r in 0..<ringCount { downRings[r].rewind() }
        self.phase = phase
    }

    /// Feeds one class and computes the logits for the next sample.
    public func step(_ inputClass: Int) {
        let c = config.features, k = config.kernelSize, levels = config.levels, depth = config.depth

        // Highest level whose clock ticks at this sample.
        let top = phase == 0 ? levels - 1 : phase.trailingZeroBitCount

        // Input conv: the bias plus one weight column per tap, picked by class.
        classSlot = classSlot + 1 == k ? 0 : classSlot + 1
        classRing[classSlot] = Int32(inputClass)
        classRing[classSlot + k] = Int32(inputClass)
        current.update(from: weights.inputBias.pointer, count: c)
        let table = weights.inputTable.pointer
        for j in 0..<k {
            let column = table + (j * config.classes + Int(classRing[classSlot + 1 + j])) * c
            for o in 0..<c { current[o] += column[o] }
        }

        // Down path: each level that ticks refines `current` and keeps a shortcut.
        var level = 0
        while level < levels - 1 && level <= top {
            for j in 0..<depth {
                let n = level * depth + j
                downRings[n].push(current)
                downKernels[n].apply(window: downRings[n].window, identity: current, output: current, scratch: scratch)
            }
            (shortcuts + level * c).update(from: current, count: c)
            downsampleRings[level].push(current)
            if level + 1 <= top {
                downsampleKernels[level].apply(window: downsampleRings[level].window, identity: current,
                                               output: current, scratch: scratch)
            }
            level += 1
        }
        if top == levels - 1 {
            for j in 0..<depth {
                bottleneckRings[j].push(current)
                bottleneckKernels[j].apply(window: bottleneckRings[j].window, identity: current,
                                           output: current, scratch: scratch)
            }
        }

        // Up path, from the highest ticking level down to level 0. `current`
        // holds the up-path output of the level above.
        var i = min(top, levels - 2)
        while i >= 0 {
            let up: UnsafeMutablePointer<Float>
            if i == top {
                // Level i+1 did not tick: use the "next" vector it left us.
                up = nextUp + i * c
            } else {
                upsampleRings[i].push(current)
                upsampleKernels[i].applyUpsampling(window: upsampleRings[i].window, identity: current,
                                                   now: nowUp, next: nextUp + i * c, scratch: scratch)
                up = nowUp
            }
            current.update(from: shortcuts + i * c, count: c)
            for j in 0..<depth {
                let n = i * depth + j
                upRings[n].push(current, count: c, up)
                upKernels[n].apply(window: upRings[n].window, identity: current, output: current, scratch: scratch)
            }
            i -= 1
        }

        // Output: 1x1 conv after a ReLU.
        relu(current, count: c, into: rectified)
        outputs.update(from: weights.outputBias.pointer, count: config.classes)
        outputMatrix.multiplyAccumulate(rectified, into: outputs)

        phase += 1
        if phase == config.cycles { phase = 0 }
    }
}
