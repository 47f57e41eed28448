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
    let network: any NetworkState
    /// The one input of the next step (the network steps on a batch of one).
    private let input: UnsafeMutablePointer<Int>
    /// Number of inputs the network takes (inputs at or above are clamped to the last).
    let inputCount: Int
    /// The network's outputs predicting the next step (logits for a
    /// categorical output), valid after `prime` or `step`.
    public let logits: UnsafeBufferPointer<Float>

    /// The threads computing each step (nil: the caller's alone).
    public let team: RowTeam?

    /// A stream over `model`, primed as from silence (`primed`) or left
    /// zeroed, each step computed by `threads` threads (the output bytes do
    /// not depend on how many).
    init(model: Model, threads: Int = 1, primed: Bool = true) {
        self.model = model
        team = threads > 1 ? RowTeam(threads: threads) : nil
        network = model.weights.makeState(batch: 1, team: team)
        input = .allocate(capacity: 1)
        logits = UnsafeBufferPointer(start: network.outputs, count: model.config.output.count)
        switch model.config.input {
        case .oneHot(let count), .embedding(let count), .multiHot(let count): inputCount = count
        }
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
        let config = model.config
        let inputSize = config.inputSize, cycles = config.cycles
        let kept = prompt.suffix(inputSize)
        // The first primed input sits at n = -(inputSize-1) (mod cycles).
        let startPhase = ((-(inputSize - 1)) % cycles + cycles) % cycles
        network.reset(phase: startPhase)
        var fed = 0
        func feed(_ input: Int) -> Bool {
            if fed & 1023 == 0 && shouldStop() { return false }
            step(input)
            fed += 1
            return true
        }
        if let padding = model.codec.paddingInput {
            for _ in 0..<(inputSize - kept.count) { guard feed(padding) else { return false } }
        }
        for input in kept { guard feed(Int(input)) else { return false } }
        return true
    }

    /// `prime(with:)` for a prompt of input indices (`[]` for padding only).
    @discardableResult
    public func prime(with prompt: [Int], shouldStop: () -> Bool = { false }) -> Bool {
        prime(with: prompt[...], shouldStop: shouldStop)
    }

    /// Feeds the newest input (a class or token id) and updates `logits`. Allocates nothing.
    @inline(__always)
    public func step(_ input: Int) {
        self.input.pointee = input >= 0 && input < inputCount ? input : inputCount - 1
        network.step(self.input)
    }

    /// The slowest clock level that ticks at the next `step` (0 for a single
    /// rate): that step computes levels 0 through this one.
    public var nextTickLevel: Int { network.nextTickLevel }

    /// Bytes of stream state (ring buffers, caches, scratch).
    public var stateBytes: Int { network.stateBytes }
}
