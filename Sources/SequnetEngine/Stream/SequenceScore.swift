/// The negative log-likelihood of whole sequences under a multi-hot model,
/// as the paper's evaluation computes it.
public struct SequenceScore: Sendable, Equatable {
    /// Summed over every predicted frame, in nats.
    public var nats: Double = 0
    /// Frames predicted: each sequence's length minus its first frame.
    public var frames: Int = 0

    public init() {}

    /// Nats per predicted frame, the paper's figure (frame-weighted over all sequences).
    public var natsPerFrame: Double { frames == 0 ? .nan : nats / Double(frames) }

    public static func + (a: SequenceScore, b: SequenceScore) -> SequenceScore {
        var sum = a
        sum.nats += b.nats
        sum.frames += b.frames
        return sum
    }
}

extension StreamState {
    /// Scores one sequence of frames (`frameCount` rows of the input width,
    /// row after row) as the reference does: inputs are frames 0..<T-1,
    /// targets frames 1..<T, the clock aligned for a sequence of T-1 inputs
    /// (`startSequence`). Frame 0 is never predicted. Returns nil if a logit
    /// is not finite (the index of the frame it predicted in `badFrame`).
    public func score(frames: UnsafeBufferPointer<Float>, frameCount: Int, badFrame: inout Int) -> SequenceScore? {
        let width = model.config.input.width
        precondition(frames.count == frameCount * width)
        var score = SequenceScore()
        guard frameCount >= 2 else { return score }
        startSequence(ofLength: frameCount - 1)
        for t in 0..<(frameCount - 1) {
            step(vector: UnsafeBufferPointer(rebasing: frames[(t * width)..<((t + 1) * width)]))
            let target = UnsafeBufferPointer(rebasing: frames[((t + 1) * width)..<((t + 2) * width)])
            let nats = PianoRoll.negativeLogLikelihood(logits: logits, target: target)
            guard nats.isFinite else { badFrame = t + 1; return nil }
            score.nats += nats
            score.frames += 1
        }
        return score
    }
}
