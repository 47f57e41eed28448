/// Level 0's first down conv folded into the input conv, for prefill and
/// stepping alike.
///
/// Both are linear before the gate: the input conv's output at position s is
/// `bias_in + sum_j T_j[class(s - (K-1) + j)]` and the down conv's
/// pre-activation at t is `bias + sum_tap W_tap x[t - (K-1) + tap]`. Once all
/// K vectors of the window are real inputs (t >= K-1) that is
/// `base + sum_d U_d[class(t - 2(K-1) + d)]` over the 2K-1 input classes the
/// window reaches, with `U_d = sum_{tap + j = d} W_tap T_j` and `base = bias +
/// sum_tap W_tap bias_in`: 2K-1 table rows added instead of a `[2C, K*C]`
/// product, the costliest product of a prefill (a fifth of its work for the
/// paper's model) and 7% of a step's weight reads. The sums are in another
/// order than the product's, so they differ from the unfolded conv by float
/// rounding; prefill and stepping both use the tables, in the same order, so
/// they agree bit for bit. Built for fp32 weights only (bf16's and int8's
/// products round the input their own way).
struct FoldedInputConv: @unchecked Sendable {
    /// Packed rows of the down conv (its pre-activation width).
    let rows: Int
    let classes: Int
    /// 2K-1: the input classes one window of the down conv reaches.
    let span: Int
    /// `[span][classes][rows]`
    let tables: FloatBuffer
    /// `[rows]`
    let base: FloatBuffer

    init(input: OneHotInputTable, inputBias: FloatBuffer, conv: GatedLayerWeights) {
        let k = input.taps, c = input.outputs, matrix = conv.matrix.view
        rows = matrix.panelCount * PackedMatrix.panel
        classes = input.classes
        span = 2 * k - 1
        tables = FloatBuffer(count: span * classes * rows)
        // U_d[cls] = W · window, the window's tap slot holding T_{d - tap}[cls] (zero where d - tap is no tap).
        let windows = FloatBuffer(count: classes * k * c)
        for d in 0..<span {
            windows.zero()
            for cls in 0..<classes {
                for tap in 0..<k where (0..<k).contains(d - tap) {
                    (windows.pointer + (cls * k + tap) * c).update(from: input.column(tap: d - tap, class: cls), count: c)
                }
            }
            matrix.multiplyAccumulate(windows.pointer, into: tables.pointer + d * classes * rows, batch: classes,
                                      xStride: k * c, yStride: rows, team: nil)
        }
        base = FloatBuffer(count: rows)
        base.pointer.update(from: conv.bias.pointer, count: rows)
        let biases = FloatBuffer(count: k * c)
        for tap in 0..<k { (biases.pointer + tap * c).update(from: inputBias.pointer, count: c) }
        matrix.multiplyAccumulate(biases.pointer, into: base.pointer, batch: 1, xStride: k * c, yStride: rows, team: nil)
    }

    /// Raw pointers to the tables, for the step and the prefill's loops
    /// (the owning `FoldedInputConv` lives in the weights, which every state keeps).
    var kernel: FoldedInputKernel {
        FoldedInputKernel(rows: rows, classes: classes, span: span, tables: UnsafePointer(tables.pointer),
                          base: UnsafePointer(base.pointer))
    }
}

/// `FoldedInputConv`'s tables as raw pointers: copying one touches no
/// reference counts.
struct FoldedInputKernel {
    let rows: Int
    let classes: Int
    let span: Int
    let tables: UnsafePointer<Float>
    let base: UnsafePointer<Float>

    /// `U_d[cls]`, `rows` floats.
    @inline(__always)
    func table(_ d: Int, class cls: Int) -> UnsafePointer<Float> {
        tables + (d * classes + cls) * rows
    }

    /// Level 0's first down conv for `count` items (a prefill's positions or
    /// a step's streams), the one code both run so that they agree bit for
    /// bit: item i's pre-activation from the classes `classes(i, d)` (d < span,
    /// oldest first) into `scratch` (`count * rows` floats), then the gated
    /// activation plus the residual `input` into `output` (C floats per item,
    /// one after another; they may be the same).
    @inline(__always)
    func apply(_ kernel: GatedKernel, count: Int, classes: (_ item: Int, _ d: Int) -> Int,
               scratch: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        for i in 0..<count { preActivation(classes: { classes(i, $0) }, into: scratch + i * rows) }
        GatedEpilogue(channels: kernel.channels, groups: kernel.groups, identity: input, identityStride: kernel.channels,
                      first: output, second: nil, outputStride: kernel.channels)
            .apply(preActivations: scratch, preStride: rows, batch: count, panels: 0..<kernel.matrix.panelCount)
    }

    /// The pre-activation at a position whose window is all real inputs:
    /// `base` plus the table rows of `classes[0..<span]`, oldest first. (All
    /// `rows`, padding included: `rows * span` adds.)
    @inline(__always)
    func preActivation(classes: (Int) -> Int, into row: UnsafeMutablePointer<Float>) {
        row.update(from: base, count: rows)
        for d in 0..<span {
            let column = table(d, class: classes(d))
            for o in 0..<rows { row[o] += column[o] }
        }
    }
}
