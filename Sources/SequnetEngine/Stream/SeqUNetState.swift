/// One independent Seq-U-Net stream: every layer's ring buffer at its own time
/// scale, the per-level shortcut and "next" vectors, and the clock phase.
/// Allocated once; `step` allocates nothing.
public final class SeqUNetState: @unchecked Sendable {
    public let weights: SeqUNetWeights

    /// Position of the next sample within the clock cycle: level i ticks
    /// when `phase` is a multiple of 2^i.
    private(set) var phase = 0

    private let arena: FloatBuffer
    /// Last K input classes, twice over (see `WindowRing`).
    private var classRing: [Int32]
    private var classSlot = 0

    private var downRings: [[WindowRing]]     // [L-1][D], C-vectors at level i
    private var downsampleRings: [WindowRing] // [L-1], shortcuts h_i
    private var bottleneckRings: [WindowRing] // [D]
    private var upsampleRings: [WindowRing]   // [L-1], level i+1 up-path outputs
    private var upRings: [[WindowRing]]       // [L-1][D], concat(c, up) 2C-vectors

    private let shortcuts: [UnsafeMutablePointer<Float>]  // h_i, [L-1] x C
    private let nextUp: [UnsafeMutablePointer<Float>]     // "next" of upconv i, [L-1] x C
    private let nowUp: UnsafeMutablePointer<Float>        // C
    private let current: UnsafeMutablePointer<Float>      // C, the vector flowing through
    private let scratch: UnsafeMutablePointer<Float>      // 4C
    private let relu: UnsafeMutablePointer<Float>         // C
    /// The latest logits, `classes` floats.
    public let logits: UnsafeMutablePointer<Float>

    public init(weights: SeqUNetWeights) {
        self.weights = weights
        let config = weights.config
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
        func ring(_ dim: Int, _ taps: Int) -> WindowRing {
            WindowRing(base: carve(WindowRing.floats(dimension: dim, taps: taps)), dimension: dim, taps: taps)
        }
        classRing = [Int32](repeating: 0, count: 2 * k)
        downRings = (0..<(l - 1)).map { _ in (0..<d).map { _ in ring(c, k) } }
        downsampleRings = (0..<(l - 1)).map { _ in ring(c, k) }
        bottleneckRings = (0..<d).map { _ in ring(c, k) }
        upsampleRings = (0..<(l - 1)).map { _ in ring(c, m) }
        upRings = (0..<(l - 1)).map { _ in (0..<d).map { _ in ring(2 * c, k) } }
        shortcuts = (0..<(l - 1)).map { _ in carve(c) }
        nextUp = (0..<(l - 1)).map { _ in carve(c) }
        nowUp = carve(c)
        current = carve(c)
        scratch = carve(4 * c)
        relu = carve(c)
        logits = carve(config.classes)
        reset(phase: 0)
    }

    /// Zeroes every buffer and sets the phase of the next sample.
    func reset(phase: Int) {
        arena.zero()
        for i in classRing.indices { classRing[i] = Int32(128 % weights.config.classes) }
        classSlot = 0
        self.phase = phase
        for i in downRings.indices {
            for j in downRings[i].indices { downRings[i][j].reset(); upRings[i][j].reset() }
            downsampleRings[i].reset()
            upsampleRings[i].reset()
        }
        for j in bottleneckRings.indices { bottleneckRings[j].reset() }
    }

    /// Feeds one class and computes the logits for the next sample.
    func step(_ inputClass: Int) {
        let config = weights.config
        let c = config.features, k = config.kernelSize, levels = config.levels
        let w = weights

        // Highest level whose clock ticks at this sample.
        let top = phase == 0 ? levels - 1 : phase.trailingZeroBitCount

        // Input conv: the bias plus one weight column per tap, picked by class.
        classSlot = classSlot + 1 == k ? 0 : classSlot + 1
        classRing[classSlot] = Int32(inputClass)
        classRing[classSlot + k] = Int32(inputClass)
        current.update(from: w.inputBias.pointer, count: c)
        classRing.withUnsafeBufferPointer { classes in
            for j in 0..<k {
                let cls = Int(classes[classSlot + 1 + j])
                let column = w.inputTable.pointer + (j * config.classes + cls) * c
                for o in 0..<c { current[o] += column[o] }
            }
        }

        // Down path: each level that ticks refines `current` and keeps a shortcut.
        var level = 0
        while level < levels - 1 && level <= top {
            for j in 0..<config.depth {
                downRings[level][j].push(current)
                w.downConvs[level][j].apply(window: downRings[level][j].window, identity: current,
                                            output: current, scratch: scratch)
            }
            shortcuts[level].update(from: current, count: c)
            downsampleRings[level].push(current)
            if level + 1 <= top {
                w.downsample[level].apply(window: downsampleRings[level].window, identity: current,
                                          output: current, scratch: scratch)
            }
            level += 1
        }
        if top == levels - 1 {
            for j in 0..<config.depth {
                bottleneckRings[j].push(current)
                w.bottleneck[j].apply(window: bottleneckRings[j].window, identity: current,
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
                up = nextUp[i]
            } else {
                upsampleRings[i].push(current)
                w.upsample[i].apply(window: upsampleRings[i].window, identity: current,
                                    now: nowUp, next: nextUp[i], scratch: scratch)
                up = nowUp
            }
            current.update(from: shortcuts[i], count: c)
            for j in 0..<config.depth {
                upRings[i][j].push(current, count: c, up)
                w.upConvs[i][j].apply(window: upRings[i][j].window, identity: current,
                                      output: current, scratch: scratch)
            }
            i -= 1
        }

        // Output: 1x1 conv after a ReLU.
        for o in 0..<c { relu[o] = max(current[o], 0) }
        logits.update(from: w.outputBias.pointer, count: config.classes)
        multiplyAccumulate(w.outputMatrix.pointer, rows: config.classes, columns: c, relu, into: logits)

        phase += 1
        if phase == config.cycles { phase = 0 }
    }
}

extension SeqUNetState {
    var stateBytes: Int { arena.count * MemoryLayout<Float>.size + classRing.count * 4 }
}
