/// One autoregressive stream over a shared `Model`: the caches of every layer
/// and the clock. Feed it an input, read the outputs predicting the next one.
///
/// ```swift
/// let stream = model.makeStream()
/// stream.prime(with: promptClasses)           // or [] for silence
/// let sampler = CategoricalSampler(temperature: 1, seed: 7)
/// for _ in 0..<16_000 {
///     let next = sampler.sample(stream.logits)
///     stream.step(next)
/// }
/// ```
public final class StreamState: @unchecked Sendable {
    public let model: Model
    /// A batch of one: the same step as any batch.
    let batch: StreamBatch
    /// The network's outputs predicting the next step (logits for a
    /// categorical output), valid after `prime` or `step`.
    public let logits: UnsafeBufferPointer<Float>
    /// The one input of the next step.
    private let input = UnsafeMutablePointer<Int>.allocate(capacity: 1)

    /// The threads computing each step (nil: the caller's alone).
    public var team: RowTeam? { batch.team }

    /// A stream over `model`, primed as from silence (`primed`) or left
    /// zeroed, each step computed by `threads` threads (the output bytes do
    /// not depend on how many).
    init(model: Model, threads: Int = 1, primed: Bool = true) {
        self.model = model
        batch = StreamBatch(model: model, count: 1, threads: threads)
        logits = batch.logits(0)
        if primed { prime(with: [Int]()) }
    }

    deinit { input.deallocate() }

    /// Starts the stream as the reference does from a prompt: the last
    /// `inputSize` inputs, padded in front with the codec's padding input
    /// (silence, for audio), with the clock set so that the last prompt input
    /// closes a cycle. An empty prompt means padding only. Afterwards
    /// `logits` predict the first new step.
    ///
    /// `shouldStop` is asked every 1,024 steps (priming a large model takes
    /// seconds); when it says yes, priming ends there and returns false, and
    /// the stream's state is unusable until primed again.
    @discardableResult
    public func prime<C: Collection>(with prompt: C, shouldStop: () -> Bool = { false }) -> Bool
    where C.Element: BinaryInteger {
        batch.prime(with: [prompt], shouldStop: shouldStop)
    }

    /// `prime(with:)` for a prompt of input indices (`[]` for padding only).
    @discardableResult
    public func prime(with prompt: [Int], shouldStop: () -> Bool = { false }) -> Bool {
        prime(with: prompt[...], shouldStop: shouldStop)
    }

    /// Feeds the newest input (a class or token id) and updates `logits`. Allocates nothing.
    @inline(__always)
    public func step(_ input: Int) {
        self.input.pointee = input
        batch.step(UnsafeBufferPointer(start: self.input, count: 1))
    }

    /// Feeds the newest input vector (a multi-hot model's frame, as wide as
    /// its input) and updates `logits`. Allocates nothing.
    @inline(__always)
    public func step(vector: UnsafeBufferPointer<Float>) { batch.step(vectors: vector) }

    /// `step(vector:)` for an array.
    public func step(vector: [Float]) { vector.withUnsafeBufferPointer { step(vector: $0) } }

    /// Zeroes the stream and feeds what the reference puts in front of a
    /// whole sequence of `length` inputs (see `StreamBatch.startSequence`).
    public func startSequence(ofLength length: Int) { batch.startSequence(ofLength: length) }

    /// The slowest clock level that ticks at the next `step` (0 for a single
    /// rate): that step computes levels 0 through this one.
    public var nextTickLevel: Int { batch.nextTickLevel }

    /// Bytes of stream state (ring buffers, caches, scratch).
    public var stateBytes: Int { batch.stateBytes }
}
