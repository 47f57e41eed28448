import Foundation
import SequnetCheckpoint

/// A plain full-sequence forward pass, written directly from SPEC.md over the
/// reference's own tensor layouts: whole sequences, level by level, no ring
/// buffers and no step. The streaming engine must agree with it.
enum OfflineReference {
    typealias Sequence = [[Float]]   // [time][channel]

    /// Residual conv over a sequence: `out[p] = id[p] + tanh(F*w) * sigmoid(G*w)`,
    /// where the window is in[p-(K-1)...p] (zero before the start) and
    /// `weights` are `[out, in, K]`.
    static func gatedConv(_ input: Sequence, identity: Sequence, prefix: String, _ dict: StateDict) -> Sequence {
        let f = dict.tensors["\(prefix).filter.weight"]!, g = dict.tensors["\(prefix).gate.weight"]!
        let fb = dict.tensors["\(prefix).filter.bias"]!.values, gb = dict.tensors["\(prefix).gate.bias"]!.values
        let out = f.shape[0], inputs = f.shape[1], k = f.shape[2]
        return (0..<input.count).map { p in
            (0..<out).map { o in
                var a = fb[o], b = gb[o]
                for j in 0..<k {
                    let q = p - (k - 1 - j)
                    guard q >= 0 else { continue }
                    for c in 0..<inputs {
                        a += f.values[(o * inputs + c) * k + j] * input[q][c]
                        b += g.values[(o * inputs + c) * k + j] * input[q][c]
                    }
                }
                return identity[p][o] + tanh(a) * (1 / (1 + exp(-b)))
            }
        }
    }

    /// Seq-U-Net logits for every position of `classes`. `firstPhase` is the
    /// clock phase of `classes[0]` (level i ticks where phase % 2^i == 0).
    static func seqUNet(_ dict: StateDict, classes input: [UInt8], firstPhase: Int) -> Sequence {
        let w = dict.tensors["input_conv.weight"]!
        let c = w.shape[0], nClasses = w.shape[1], k = w.shape[2]
        let levels = Set(dict.names.filter { $0.hasPrefix("downsampling_blocks.") }
            .map { $0.split(separator: ".")[1] }).count + 1
        let depth = Set(dict.names.filter { $0.hasPrefix("downsampling_blocks.0.convs.") }
            .map { $0.split(separator: ".")[3] }).count
        let bias = dict.tensors["input_conv.bias"]!.values
        let cycles = 1 << (levels - 1)

        // ticks[i]: positions (into `input`) where level i ticks.
        let ticks = (0..<levels).map { i in (0..<input.count).filter { ($0 + firstPhase) % cycles % (1 << i) == 0 } }

        var x: Sequence = (0..<input.count).map { t in
            (0..<c).map { o in
                var v = bias[o]
                for j in 0..<k {
                    let q = t - (k - 1 - j)
                    let cls = q >= 0 ? Int(input[q]) : 128
                    v += w.values[(o * nClasses + cls) * k + j]
                }
                return v
            }
        }
        var shortcuts: [Sequence] = []
        for i in 0..<(levels - 1) {
            for j in 0..<depth { x = gatedConv(x, identity: x, prefix: "downsampling_blocks.\(i).convs.\(j)", dict) }
            shortcuts.append(x)
            // Strided conv: evaluate at the level-i positions that are level-(i+1) ticks.
            let full = gatedConv(x, identity: x, prefix: "downsampling_blocks.\(i).downconv", dict)
            x = ticks[i].enumerated().filter { ticks[i + 1].contains($0.element) }.map { full[$0.offset] }
        }
        for j in 0..<depth { x = gatedConv(x, identity: x, prefix: "bottlenecks.\(j)", dict) }

        for i in stride(from: levels - 2, through: 0, by: -1) {
            let prefix = "upsampling_blocks.\(i).upconv"
            let f = dict.tensors["\(prefix).filter.weight"]!, g = dict.tensors["\(prefix).gate.weight"]!
            let fb = dict.tensors["\(prefix).filter.bias"]!.values, gb = dict.tensors["\(prefix).gate.bias"]!.values
            // Transposed conv, [in, out, K]: for coarse index q, tap parity picks now/next.
            func upsampled(_ q: Int, odd: Bool) -> [Float] {
                guard q >= 0 else { return [Float](repeating: 0, count: c) }
                return (0..<c).map { o in
                    var a = fb[o], b = gb[o]
                    for j in stride(from: odd ? 1 : 0, to: k, by: 2) {
                        let src = q - j / 2
                        guard src >= 0 else { continue }
                        for ci in 0..<c {
                            a += f.values[(ci * c + o) * k + j] * x[src][ci]
                            b += g.values[(ci * c + o) * k + j] * x[src][ci]
                        }
                    }
                    return x[q][o] + tanh(a) * (1 / (1 + exp(-b)))
                }
            }
            let coarse = ticks[i + 1]
            let up: Sequence = ticks[i].map { t in
                if let q = coarse.firstIndex(of: t) { return upsampled(q, odd: false) }
                let q = (coarse.lastIndex(where: { $0 < t }) ?? -1)
                return upsampled(q, odd: true)
            }
            var cur = shortcuts[i]
            for j in 0..<depth {
                let joined = zip(cur, up).map { $0 + $1 }
                cur = gatedConv(joined, identity: cur, prefix: "upsampling_blocks.\(i).convs.\(j)", dict)
            }
            x = cur
        }
        let ow = dict.tensors["output_conv.1.weight"]!.values, ob = dict.tensors["output_conv.1.bias"]!.values
        return x.map { v in
            (0..<nClasses).map { o in
                var s = ob[o]
                for ci in 0..<c { s += ow[o * c + ci] * max(v[ci], 0) }
                return s
            }
        }
    }

    /// WaveNet logits for every position of `classes`, starting from zeros.
    static func waveNet(_ dict: StateDict, classes input: [UInt8], layersPerBlock: Int) -> Sequence {
        let start = dict.tensors["start_conv.weight"]!
        let r = start.shape[0], nClasses = start.shape[1]
        let layers = dict.names.filter { $0.hasPrefix("filter_convs.") && $0.hasSuffix(".weight") }.count
        let sb = dict.tensors["start_conv.bias"]!.values
        var x: Sequence = input.map { cls in (0..<r).map { start.values[$0 * nClasses + Int(cls)] + sb[$0] } }
        let s = dict.tensors["skip_convs.0.weight"]!.shape[0]
        var skip: Sequence = input.map { _ in [Float](repeating: 0, count: s) }
        for l in 0..<layers {
            let d = 1 << (l % layersPerBlock)
            let f = dict.tensors["filter_convs.\(l).weight"]!, g = dict.tensors["gate_convs.\(l).weight"]!
            let fb = dict.tensors["filter_convs.\(l).bias"]!.values, gb = dict.tensors["gate_convs.\(l).bias"]!.values
            let dc = f.shape[0]
            let z: Sequence = (0..<input.count).map { t in
                (0..<dc).map { o in
                    var a = fb[o], b = gb[o]
                    for (j, q) in [(0, t - d), (1, t)] where q >= 0 {
                        for ci in 0..<r {
                            a += f.values[(o * r + ci) * 2 + j] * x[q][ci]
                            b += g.values[(o * r + ci) * 2 + j] * x[q][ci]
                        }
                    }
                    return tanh(a) * (1 / (1 + exp(-b)))
                }
            }
            let rw = dict.tensors["residual_convs.\(l).weight"]!.values, rb = dict.tensors["residual_convs.\(l).bias"]!.values
            let sw = dict.tensors["skip_convs.\(l).weight"]!.values, skb = dict.tensors["skip_convs.\(l).bias"]!.values
            for t in 0..<input.count {
                for o in 0..<s { skip[t][o] += skb[o] + (0..<dc).reduce(0) { $0 + sw[o * dc + $1] * z[t][$1] } }
                for o in 0..<r { x[t][o] += rb[o] + (0..<dc).reduce(0) { $0 + rw[o * dc + $1] * z[t][$1] } }
            }
        }
        let w1 = dict.tensors["end_conv_1.weight"]!.values, b1 = dict.tensors["end_conv_1.bias"]!.values
        let w2 = dict.tensors["end_conv_2.weight"]!.values, b2 = dict.tensors["end_conv_2.bias"]!.values
        return skip.map { v in
            let h = (0..<s).map { o in max(b1[o] + (0..<s).reduce(0) { $0 + w1[o * s + $1] * max(v[$1], 0) }, 0) }
            return (0..<nClasses).map { o in b2[o] + (0..<s).reduce(0) { $0 + w2[o * s + $1] * h[$1] } }
        }
    }
}
