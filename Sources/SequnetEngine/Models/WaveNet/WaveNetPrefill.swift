/// Priming from known inputs without stepping: each layer's dilated conv
/// runs over every step at once (one batched product per stream, its
/// columns the pairs x[t-d], x[t]), then its residual conv; the skip and end
/// convs, read only for the last step, run once. The histories and clock are
/// then set as stepping leaves them, bit for bit.
extension WaveNetState {
    /// Two layers' inputs and one gated output over the prompt are held per
    /// stream, up to a gigabyte.
    public func prefillStreamLimit(steps: Int) -> Int {
        (1 << 30) / max(1, steps * (2 * config.residualChannels + config.dilationChannels) * 4)
    }

    public func prefill(_ inputs: UnsafePointer<Int>, steps: Int, startPhase: Int, shouldStop: () -> Bool) -> Bool? {
        let r = config.residualChannels, dc = config.dilationChannels, layers = config.layerCount
        guard batch <= prefillStreamLimit(steps: steps) else { return nil }
        reset(phase: startPhase)
        guard steps > 0 else { return true }
        let chunk = 8192
        let widest = (0..<layers).map { dilations[$0] }.max() ?? 1
        // x for every stream and step, `widest` zero steps in front (the empty histories).
        let stride = (widest + steps) * r
        var current = FloatBuffer(count: batch * stride)
        var next = FloatBuffer(count: batch * stride)
        let z = FloatBuffer(count: batch * steps * dc)
        let pre = FloatBuffer(count: min(steps, chunk) * kernels[0].width)
        func x(_ buffer: FloatBuffer, _ b: Int, _ t: Int) -> UnsafeMutablePointer<Float> {
            buffer.pointer + b * stride + (widest + t) * r
        }
        for b in 0..<batch {
            for t in 0..<steps {
                let v = x(current, b, t)
                v.update(from: weights.startTable.column(tap: 0, class: inputs[b * steps + t]), count: r)
                for o in 0..<r { v[o] += weights.startBias[o] }
            }
        }
        for l in 0..<layers {
            let d = dilations[l], kernel = kernels[l]
            for b in 0..<batch {
                for at in Swift.stride(from: 0, to: steps, by: chunk) {
                    if shouldStop() { return false }
                    let n = min(chunk, steps - at)
                    // Columns 0..<R take x[t-d], R..<2R take x[t].
                    kernel.applyWithoutResidual(batch: n, x(current, b, at - d), stride: r, split: r, x(current, b, at), stride: r,
                                                output: z.pointer + (b * steps + at) * dc, outputStride: dc,
                                                scratch: pre.pointer, team: team)
                }
                // The history: x at the last d steps, in slot t mod d.
                for t in max(0, steps - d)..<steps {
                    (history[l] + b * d * r + (t & (d - 1)) * r).update(from: x(current, b, t), count: r)
                }
                (zAll + b * layers * dc + l * dc).update(from: z.pointer + (b * steps + steps - 1) * dc, count: dc)
            }
            guard l < layers - 1 else { break }   // the last layer's residual output is never read
            let bias = residualBias[l]
            for b in 0..<batch {
                for t in 0..<steps {
                    let from = x(current, b, t), to = x(next, b, t)
                    to.update(from: from, count: r)
                    for o in 0..<r { to[o] += bias[o] }
                }
                residual[l].multiplyAccumulate(z.pointer + b * steps * dc, into: x(next, b, 0), batch: steps,
                                               xStride: dc, yStride: r, team: team)
            }
            swap(&current, &next)
        }
        for b in 0..<batch { (self.x + b * r).update(from: x(current, b, steps - 1), count: r) }
        computeOutputs()
        time = steps
        return true
    }
}

extension WaveNetState {
    public func copyStreams(from source: any NetworkState, to first: Int) -> Bool {
        guard let source = source as? WaveNetState, source.weights === weights,
              first >= 0, first + source.batch <= batch else { return false }
        let n = source.batch, r = config.residualChannels, dc = config.dilationChannels
        for l in 0..<config.layerCount {
            let perStream = dilations[l] * r
            (history[l] + first * perStream).update(from: source.history[l], count: n * perStream)
        }
        let widths = [(x, source.x, r), (zAll, source.zAll, config.layerCount * dc),
                      (skip, source.skip, config.skipChannels), (hidden, source.hidden, config.skipChannels),
                      (outputs, source.outputs, config.classes)]
        for (to, from, width) in widths { (to + first * width).update(from: from, count: n * width) }
        time = source.time
        return true
    }
}
