import Foundation

/// Cross-entropy of a language model over some predicted tokens.
public struct TokenScore: Sendable, Equatable {
    /// Summed over the scored predictions, in nats.
    public var nats: Double = 0
    /// Predictions scored.
    public var count: Int = 0

    public init() {}

    public var natsPerToken: Double { count == 0 ? .nan : nats / Double(count) }
    /// Bits per token (per character, for a character model).
    public var bitsPerToken: Double { natsPerToken / M_LN2 }
    public var perplexity: Double { exp(natsPerToken) }
}

/// The reference's evaluation of a language model (SPEC-symbolic.md,
/// "Windows"): each stream is cut into windows of `length` tokens starting
/// at 0, `scored`, 2 `scored`, ...; a window starts from zero state (the
/// Seq-U-Net's clock set so its last token is a tick of every level) and
/// only its last `scored` predictions count, the rest being context.
public struct WindowedEvaluation: Sendable, Equatable {
    public var length: Int
    public var scored: Int
    /// Tokens a window must leave after its end to be used: 0 for the
    /// character task (`start + W < len`), 1 for the word task (`start + W < len - 1`).
    public var margin: Int

    public init(length: Int, scored: Int, margin: Int) {
        precondition(length >= 1 && (1...length).contains(scored))
        (self.length, self.scored, self.margin) = (length, scored, margin)
    }

    /// The official windows for `config` at `level`: the TCN's command-line
    /// sizes (400/320 characters, 117/45 words), the valid-mode Seq-U-Net's
    /// own sizes for the output it is asked for (320 or 45).
    public static func official(for config: any ModelConfiguration, level: TokenLevel) -> WindowedEvaluation? {
        let request = level == .characters ? 320 : 45, margin = level == .characters ? 0 : 1
        if let plain = config as? PlainSeqUNetConfig {
            guard let window = plain.validWindow(forOutputs: request) else { return nil }
            return WindowedEvaluation(length: window.length, scored: window.scored, margin: margin)
        }
        if config is TCNConfig {
            return WindowedEvaluation(length: level == .characters ? 400 : 117, scored: request, margin: margin)
        }
        return nil
    }

    /// Window starts in a stream of `count` tokens.
    public func starts(inStreamOf count: Int) -> [Int] {
        stride(from: 0, to: max(count, 0), by: scored).filter { $0 + length < count - margin }
    }
}

extension PlainSeqUNetConfig {
    /// The valid-mode input and output sizes the reference picks for a
    /// requested output size (its `check_padding`): the smallest bottleneck
    /// length b >= 2 whose output reaches the request, walking each level
    /// up (a transposed conv doubles and trims K, a conv trims K-1), then
    /// the input the down path needs for it. nil if no size up to 2^20 works.
    public func validWindow(forOutputs request: Int) -> (length: Int, scored: Int)? {
        let k = kernelSize
        for bottleneck in 2...(1 << 20) {
            var s = bottleneck, valid = true
            for j in 0..<(levels - 1) {
                s = 2 * s - k
                if s < 2 { valid = false; break }
                s = s - k + 1
                if s < 1 << (j + 1) { valid = false; break }
            }
            guard valid, s >= request else { continue }
            var w = bottleneck + k - 1
            for _ in 0..<(levels - 1) {
                w = 2 * w - 2 + k
                w = w + k - 1
            }
            return (w, s)
        }
        return nil
    }
}

extension Model {
    /// The official windowed evaluation over `streams` (one for the
    /// character task, 16 rows for the word task), `batch` windows stepped
    /// together. Returns nil if `shouldStop` said stop (asked between batches).
    public func score(windowsOf streams: [[Int]], evaluation: WindowedEvaluation, batch batchSize: Int = 16,
                      threads: Int = 1, shouldStop: () -> Bool = { false }, progress: (Int) -> Void = { _ in }) -> TokenScore? {
        let windows = streams.enumerated().flatMap { s, tokens in evaluation.starts(inStreamOf: tokens.count).map { (s, $0) } }
        var score = TokenScore()
        var batches: [Int: StreamBatch] = [:]
        let w = evaluation.length, context = evaluation.length - evaluation.scored
        var first = 0
        while first < windows.count {
            if shouldStop() { return nil }
            let group = Array(windows[first..<min(first + batchSize, windows.count)])
            let batch = batches[group.count] ?? makeBatch(count: group.count, threads: threads)
            batches[group.count] = batch
            batch.startSequence(ofLength: w)
            var next = [Int](repeating: 0, count: group.count)
            for t in 0..<w {
                for (b, window) in group.enumerated() { next[b] = streams[window.0][window.1 + t] }
                batch.step(next)
                guard t >= context else { continue }
                for (b, window) in group.enumerated() {
                    score.nats += crossEntropy(batch.logits(b), target: streams[window.0][window.1 + t + 1])
                    score.count += 1
                }
            }
            first += group.count
            progress(first)
        }
        return score
    }

    /// What a streaming user gets: each stream fed once from zero state (the
    /// clock set for its whole length), scoring the predictions the windowed
    /// evaluation scores.
    public func score(continuous streams: [[Int]], evaluation: WindowedEvaluation, threads: Int = 1,
                      shouldStop: () -> Bool = { false }) -> TokenScore? {
        var score = TokenScore()
        let stream = makeStream(threads: threads)
        for tokens in streams {
            var scored = [Bool](repeating: false, count: tokens.count)
            for start in evaluation.starts(inStreamOf: tokens.count) {
                for p in (start + evaluation.length - evaluation.scored)..<(start + evaluation.length) { scored[p] = true }
            }
            guard let last = scored.lastIndex(of: true) else { continue }
            stream.startSequence(ofLength: tokens.count)
            for p in 0...last {
                if p & 4095 == 0 && shouldStop() { return nil }
                stream.step(tokens[p])
                if scored[p] {
                    score.nats += crossEntropy(stream.logits, target: tokens[p + 1])
                    score.count += 1
                }
            }
        }
        return score
    }
}

/// -ln softmax(logits)[target], in double so that long sums stay exact
/// enough: what every softmax model's score adds per prediction.
public func crossEntropy(_ logits: UnsafeBufferPointer<Float>, target: Int) -> Double {
    var peak = logits[0]
    for v in logits where v > peak { peak = v }
    var sum = 0.0
    for v in logits { sum += exp(Double(v - peak)) }
    return Double(peak) + log(sum) - Double(logits[target])
}
