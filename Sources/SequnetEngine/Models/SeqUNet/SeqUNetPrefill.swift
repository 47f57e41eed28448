/// Priming from known inputs without stepping: each layer runs over all of
/// its ticks at once, one batched product per stream whose columns are the
/// layer's windows at every tick (a convolution over time), and the ring
/// buffers, shortcuts, "next" vectors and clock are then set to what
/// stepping would have left. Every output is computed by the same kernel
/// rows in the same order as a step computes it (level 0's first down conv,
/// with fp32 weights, from the same folded tables), so the result is the
/// same bytes as stepping.
extension SeqUNetState {
    /// A layer's input or output over its level's ticks, every stream: the
    /// vectors at positions `origin - padding ..< end` are stored, stream b's
    /// at `base + b * streamStride`, each `dimension` floats. The `padding`
    /// vectors before `origin` are zeros (before position 0, the rings' state
    /// before the first step); the rest is whatever the prefill writes.
    final class Sequence {
        let buffer: FloatBuffer
        let origin: Int
        let end: Int
        let dimension: Int
        let padding: Int
        let streams: Int
        var streamStride: Int { (padding + end - origin) * dimension }
        static func floats(origin: Int, end: Int, dimension: Int, padding: Int, streams: Int) -> Int {
            streams * (padding + end - origin) * dimension
        }

        /// Over `buffer` (at least `floats(...)` long, any contents).
        init(origin: Int = 0, end: Int, dimension: Int, padding: Int, streams: Int, buffer: FloatBuffer) {
            (self.origin, self.end, self.dimension, self.padding, self.streams) = (origin, end, dimension, padding, streams)
            self.buffer = buffer
            assert(buffer.count >= Self.floats(origin: origin, end: end, dimension: dimension, padding: padding, streams: streams))
            for b in 0..<streams { (buffer.pointer + b * streamStride).update(repeating: 0, count: padding * dimension) }
        }

        /// Stream b's vector k (`origin - padding <= k < end`; `end` itself
        /// only as the address one past the last).
        func at(_ b: Int, _ k: Int) -> UnsafeMutablePointer<Float> {
            assert(k >= origin - padding && k <= end, "prefill read outside its sequence")
            return buffer.pointer + b * streamStride + (padding + k - origin) * dimension
        }
    }

    /// Whether a prefill has heard a stop request.
    final class StopFlag { var heard = false }

    /// Buffers a prefill has finished with, handed out again so that the
    /// big level-0 sequences are allocated (and faulted in) once, not per layer.
    final class SequencePool {
        private var spare: [FloatBuffer] = []

        /// A sequence in the smallest spare buffer that holds it, else a new one.
        func sequence(origin: Int = 0, end: Int, dimension: Int, padding: Int, streams: Int) -> Sequence {
            let floats = Sequence.floats(origin: origin, end: end, dimension: dimension, padding: padding, streams: streams)
            let fits = spare.indices.filter { spare[$0].count >= floats }
            let buffer: FloatBuffer
            if let best = fits.min(by: { spare[$0].count < spare[$1].count }) {
                buffer = spare.remove(at: best)
            } else {
                buffer = FloatBuffer(uninitializedCount: floats)
            }
            return Sequence(origin: origin, end: end, dimension: dimension, padding: padding, streams: streams,
                            buffer: buffer)
        }

        /// Takes back a sequence nothing reads any more.
        func recycle(_ sequence: Sequence) { spare.append(sequence.buffer) }
    }

    /// Every layer's sequence over the prompt is held at once: about a dozen
    /// level-0 sequences of C floats per step and stream. Up to a gigabyte.
    public func prefillStreamLimit(steps: Int) -> Int {
        (1 << 30) / max(1, steps * config.features * 4 * 12)
    }

    /// Primes from `inputs` (`steps` valid inputs per stream, stream after
    /// stream), the first fed at clock phase `startPhase`: what `reset(phase:
    /// startPhase)` and `steps` steps leave.
    public func prefill(_ inputs: UnsafePointer<Int>, steps: Int, startPhase: Int, shouldStop: () -> Bool) -> Bool? {
        // Past the limit, stepping (which holds only the rings) is the better deal.
        guard batch <= prefillStreamLimit(steps: steps) else { return nil }
        reset(phase: startPhase)
        guard steps > 0 else { return true }
        let c = config.features, k = config.kernelSize, depth = config.depth, levels = config.levels
        let m = (k + 1) / 2, pad = k - 1, batch = self.batch
        // Ticks of level i: t = first[i] + n * 2^i.
        let first = (0..<levels).map { i in ((1 << i) - startPhase % (1 << i)) % (1 << i) }
        let ticks = (0..<levels).map { i in first[i] < steps ? (steps - 1 - first[i]) / (1 << i) + 1 : 0 }
        let lastLevel = levels - 1

        // Set once a stop request is heard; every later product is skipped.
        // (A class, not a captured `var`: Swift 6.3's debug build took the
        // nested functions' writes to a captured Bool for no writes and
        // warned that the final check could never fire; a test shows it does.)
        let stop = StopFlag()
        func stopRequested() -> Bool {
            if !stop.heard && shouldStop() { stop.heard = true }
            return stop.heard
        }
        // Pre-activations of one chunk of positions, written by each product before it is read.
        var preactivations = FloatBuffer(uninitializedCount: 0)
        func scratch(_ count: Int) -> UnsafeMutablePointer<Float> {
            if preactivations.count < count { preactivations = FloatBuffer(uninitializedCount: count) }
            return preactivations.pointer
        }
        /// Positions per product: few enough that a product's pre-activations
        /// (under 1 MB at C = 180) are still in L2 when its activation reads
        /// them; 8,192 left them in L3 and cost about 4% of the prefill.
        let chunk = 512
        // Input conv: bias plus the K picked columns, oldest tap first, with
        // class 0 before the first input (the reset class ring).
        let pool = SequencePool()
        var x = pool.sequence(end: steps, dimension: c, padding: pad, streams: batch)
        let table = weights.inputTable
        do {
            for b in 0..<batch {
                for t in 0..<steps {
                    if t % chunk == 0 && t > 0 && shouldStop() { return false }
                    let v = x.at(b, t)
                    v.update(from: weights.inputBias.pointer, count: c)
                    for j in 0..<k {
                        let s = t - (k - 1) + j
                        let cls = s >= 0 ? inputs[b * steps + s] : 0
                        let column = table.column(tap: j, class: cls)
                        for o in 0..<c { v[o] += column[o] }
                    }
                }
            }
        }

        // A gated residual conv over `input`, evaluated at input positions
        // first, first + stride, ... (`count` of them); output at positions
        // skip..<skip+count of `destination`, else of a new sequence (an
        // `identity` sequence is read at the output's positions).
        func conv(_ kernel: GatedKernel, over input: Sequence, first start: Int, stride: Int, count: Int,
                  taps: Int, identity: Sequence? = nil, skip: Int = 0, into destination: Sequence? = nil) -> Sequence {
            let out = destination ?? pool.sequence(origin: skip, end: skip + count, dimension: c, padding: pad, streams: batch)
            guard count > 0, !stop.heard else { return out }
            if stopRequested() { return out }
            let pre = scratch(min(count, chunk) * kernel.width)
            for b in 0..<batch {
                // In chunks of positions, so that a stop request is heard within one.
                for at in Swift.stride(from: 0, to: count, by: chunk) {
                    if at > 0 && stopRequested() { return out }
                    let n = min(chunk, count - at)
                    let epilogue = GatedEpilogue(
                        channels: kernel.channels, groups: kernel.groups,
                        identity: UnsafePointer(identity.map { $0.at(b, skip + at) } ?? input.at(b, start + at * stride)),
                        identityStride: identity == nil ? stride * c : c,
                        first: out.at(b, skip + at), second: nil, outputStride: c)
                    kernel.matrix.multiply(input.at(b, start + at * stride - taps + 1), plus: kernel.bias, into: pre,
                                           batch: n, xStride: stride * input.dimension, yStride: kernel.width,
                                           epilogue: epilogue, team: team)
                }
            }
            return out
        }

        // Level 0's first down conv over the input conv's output `input` (all
        // `count` positions) from the folded tables: the first K-1 positions,
        // whose windows still hold the reset's zero vectors, as `conv` does (and
        // as stepping does until `inputsFed` reaches K-1).
        func firstConv(_ folded: FoldedInputKernel, over input: Sequence, count: Int) -> Sequence {
            let out = pool.sequence(end: count, dimension: c, padding: pad, streams: batch)
            let head = min(pad, count)
            _ = conv(downKernels[0], over: input, first: 0, stride: 1, count: head, taps: k, into: out)
            let pre = scratch(chunk * folded.rows)
            for b in 0..<batch {
                let classes = inputs + b * steps
                for at in Swift.stride(from: head, to: count, by: chunk) {
                    if stopRequested() { return out }
                    // Position at + i's window of classes starts at at + i - 2(K-1); class 0 before the first input.
                    let oldest = at - 2 * pad
                    folded.apply(downKernels[0], count: min(chunk, count - at),
                                 classes: { i, d in oldest + i + d >= 0 ? classes[oldest + i + d] : 0 },
                                 scratch: pre, input: input.at(b, at), output: out.at(b, at))
                }
            }
            return out
        }

        // Fills a ring with the last `taps` vectors of `sequence` (positions up to `last`).
        func fill(_ ring: inout WindowRing, from sequence: Sequence, last: Int) {
            ring.rewind()
            guard last >= 0 else { return }   // never pushed: still the zeros of the reset
            for n in (last - ring.taps + 1)...last { ring.push(sequence.at(0, n), stride: sequence.streamStride) }
        }

        // Down path.
        var shortcutsByLevel: [Sequence] = []
        for level in 0..<lastLevel {
            let n = ticks[level]
            for j in 0..<depth {
                fill(&downRings[level * depth + j], from: x, last: n - 1)
                let y = level == 0 && j == 0 && foldedInput != nil
                    ? firstConv(foldedInput!, over: x, count: n)
                    : conv(downKernels[level * depth + j], over: x, first: 0, stride: 1, count: n, taps: k)
                pool.recycle(x)
                x = y
            }
            shortcutsByLevel.append(x)
            fill(&downsampleRings[level], from: x, last: n - 1)
            // Level level+1 ticks at every other tick of this level, from the one at its first tick.
            let offset = (first[level + 1] - first[level]) >> level
            x = conv(downsampleKernels[level], over: x, first: offset, stride: 2, count: ticks[level + 1], taps: k,
                     identity: nil)
        }
        for j in 0..<depth {
            fill(&bottleneckRings[j], from: x, last: ticks[lastLevel] - 1)
            let y = conv(bottleneckKernels[j], over: x, first: 0, stride: 1, count: ticks[lastLevel], taps: k)
            pool.recycle(x)
            x = y
        }

        // Up path: x holds the up-path output of level i+1 over its ticks.
        // Only a tail of the up path reaches the final state: level 0's last
        // K up-conv inputs (the rings) and last output; each level above, the
        // ticks that feed the tail below it, each conv's window further back.
        // `tail[i]` ticks (generously) cover that; earlier ticks are skipped.
        var tail = [Int](repeating: 0, count: levels)
        tail[0] = k + depth * (k - 1) + 2
        for i in 1..<levels { tail[i] = (tail[i - 1] + 1) / 2 + m + depth * (k - 1) + 2 }
        for i in stride(from: lastLevel - 1, through: 0, by: -1) {
            let n = ticks[i], above = ticks[i + 1]
            let start = max(0, n - tail[i])
            // Level i+1's ticks whose "now" or "next" the tail reads.
            let aboveStart = max(0, above - ((tail[i] + 1) / 2 + 2))
            let upsampling = upsampleKernels[i]
            // "now" and "next" at every tick of level i+1, identity its output.
            let now = pool.sequence(origin: aboveStart, end: above, dimension: c, padding: 0, streams: batch)
            let next = pool.sequence(origin: aboveStart, end: above, dimension: c, padding: 0, streams: batch)
            if above > 0 {
                let pre = scratch(min(above, chunk) * upsampling.width)
                for b in 0..<batch {
                    for at in Swift.stride(from: aboveStart, to: above, by: chunk) {
                        if shouldStop() { return false }
                        let n = min(chunk, above - at)
                        let epilogue = GatedEpilogue(
                            channels: upsampling.channels, groups: upsampling.groups,
                            identity: UnsafePointer(x.at(b, at)), identityStride: c,
                            first: now.at(b, at), second: next.at(b, at), outputStride: c)
                        upsampling.matrix.multiply(x.at(b, at + 1 - m), plus: upsampling.bias, into: pre, batch: n,
                                                   xStride: c, yStride: upsampling.width, epilogue: epilogue, team: team)
                    }
                }
                fill(&upsampleRings[i], from: x, last: above - 1)
            } else {
                upsampleRings[i].rewind()
            }
            // Each tick of level i takes "now" if level i+1 ticked with it,
            // else the "next" of its last tick (zero before the first).
            let z = pool.sequence(origin: start, end: n, dimension: 2 * c, padding: pad, streams: batch)
            let h = shortcutsByLevel[i]
            let offset = (first[i + 1] - first[i]) >> i
            // Per tick: index into `now` (>= 0), into `next` (-2 - index), or zero (-1).
            var up = [Int](repeating: -1, count: n)
            for tick in start..<n {
                let d = tick - offset
                if d >= 0 && d % 2 == 0 { up[tick] = d / 2 } else if d > 0 { up[tick] = -2 - (d - 1) / 2 }
            }
            var current = h
            for j in 0..<depth {
                for b in 0..<batch {
                    for tick in start..<n {
                        let dst = z.at(b, tick)
                        dst.update(from: current.at(b, tick), count: c)
                        let u = up[tick]
                        if u >= 0 { (dst + c).update(from: now.at(b, u), count: c) }
                        else if u <= -2 { (dst + c).update(from: next.at(b, -2 - u), count: c) }
                        else { (dst + c).update(repeating: 0, count: c) }
                    }
                }
                fill(&upRings[i * depth + j], from: z, last: n - 1)
                current = conv(upKernels[i * depth + j], over: z, first: start, stride: 1, count: n - start, taps: k,
                               identity: current, skip: start)
            }
            // What the next steps read: the shortcut, and the "next" of the last tick above.
            for b in 0..<batch {
                (shortcuts + i * batch * c + b * c).update(from: h.at(b, n - 1), count: c)
                let target = nextUp + i * batch * c + b * c
                if above > 0 { target.update(from: next.at(b, above - 1), count: c) } else { target.update(repeating: 0, count: c) }
            }
            x = current
        }

        if stop.heard { return false }
        // The class ring holds the last 2K-1 inputs; the logits come from the last step.
        let span = classSpan
        classSlot = 0
        for s in (steps - span)..<steps {
            classSlot = classSlot + 1 == span ? 0 : classSlot + 1
            for b in 0..<batch {
                let cls = s >= 0 ? Int32(inputs[b * steps + s]) : 0
                classRing[b * 2 * span + classSlot] = cls
                classRing[b * 2 * span + classSlot + span] = cls
            }
        }
        inputsFed = min(steps, k - 1)
        for b in 0..<batch { (current + b * c).update(from: x.at(b, steps - 1), count: c) }
        relu(current, count: batch * c, into: rectified)
        outputMatrix.multiply(rectified, plus: weights.outputBias.pointer, into: outputs, batch: batch, xStride: c,
                              yStride: config.classes, team: team)
        phase = (startPhase + steps) % config.cycles
        return true
    }
}

extension SeqUNetState {
    public func copyStreams(from source: any NetworkState, to first: Int) -> Bool {
        guard let source = source as? SeqUNetState, source.weights === weights,
              first >= 0, first + source.batch <= batch else { return false }
        let n = source.batch, c = config.features, levels = config.levels
        for r in 0..<ringCount {
            let from = source.downRings[r]
            (downRings[r].base + first * from.streamStride).update(from: from.base, count: n * from.streamStride)
            downRings[r].restore(writeSlot: from.writeSlot)
        }
        for level in 0..<(levels - 1) {
            (shortcuts + (level * batch + first) * c).update(from: source.shortcuts + level * n * c, count: n * c)
            (nextUp + (level * batch + first) * c).update(from: source.nextUp + level * n * c, count: n * c)
        }
        for (to, from) in [(nowUp, source.nowUp), (current, source.current), (rectified, source.rectified)] {
            (to + first * c).update(from: from, count: n * c)
        }
        (outputs + first * config.classes).update(from: source.outputs, count: n * config.classes)
        (classRing + first * 2 * classSpan).update(from: source.classRing, count: n * 2 * classSpan)
        (phase, classSlot, inputsFed) = (source.phase, source.classSlot, source.inputsFed)
        return true
    }
}
