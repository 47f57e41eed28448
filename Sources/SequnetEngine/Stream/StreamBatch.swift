/// Streams over one `Model` stepped together: each layer that ticks does one
/// packed-matrix product over all of them, so the weights are read once per
/// tick for the whole batch. The streams share the clock phase (priming
/// aligns them) and nothing else: stream b computes exactly what a
/// `StreamState` of its own computes, bit for bit.
///
/// ```swift
/// let batch = model.makeBatch(count: 4)
/// batch.prime(with: [[Int]]())                 // all from silence
/// let samplers = (0..<4).map { CategoricalSampler(temperature: 1, seed: UInt64(7 + $0)) }
/// var next = [Int](repeating: 0, count: 4)
/// for _ in 0..<16_000 {
///     for b in 0..<4 { next[b] = samplers[b].sample(batch.logits(b)) }
///     batch.step(next)
/// }
/// ```
public final class StreamBatch: @unchecked Sendable {
    public let model: Model
    /// Streams in the batch.
    public let count: Int
    let network: any NetworkState
    /// The threads computing each step (nil: the caller's alone).
    public let team: RowTeam?
    /// The inputs of the next step, one per stream.
    private let inputs: UnsafeMutablePointer<Int>
    /// Number of inputs the network takes (inputs outside are clamped to the last).
    public let inputCount: Int
    private let outputCount: Int

    /// `count` streams over `model`, zeroed (prime them before reading
    /// logits), each step computed by `threads` threads.
    init(model: Model, count: Int, threads: Int = 1) {
        precondition(count >= 1 && threads >= 1)
        self.model = model
        self.count = count
        team = threads > 1 ? RowTeam(threads: threads) : nil
        network = model.weights.makeState(batch: count, team: team)
        inputs = .allocate(capacity: count)
        inputs.initialize(repeating: 0, count: count)
        outputCount = model.config.output.count
        switch model.config.input {
        case .oneHot(let n), .embedding(let n), .multiHot(let n): inputCount = n
        }
    }

    deinit { inputs.deallocate() }

    /// Stream `stream`'s outputs predicting its next step (logits for a
    /// categorical output), valid after `prime` or `step`.
    @inline(__always)
    public func logits(_ stream: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: network.outputs + stream * outputCount, count: outputCount)
    }

    /// Starts every stream as the reference does from a prompt: its last
    /// `inputSize` inputs, padded in front with the codec's padding input
    /// (silence, for audio), with the clock set so that the last prompt
    /// input closes a cycle. `prompts` holds one prompt per stream, or one
    /// for all, or none (all padding). Every stream is fed `inputSize`
    /// inputs, so their clocks agree whatever their prompts' lengths.
    ///
    /// `shouldStop` is asked every 1,024 steps; when it says yes, priming
    /// ends there and returns false, and the batch is unusable until primed again.
    @discardableResult
    public func prime<C: Collection>(with prompts: [C], shouldStop: () -> Bool = { false }) -> Bool
    where C.Element: BinaryInteger {
        prime(with: prompts, stepping: false, shouldStop: shouldStop)
    }

    /// `prime`, by prefill where the family has it unless `stepping`, at
    /// most `prefillGroup` streams at a time (tests set it below the memory limit).
    func prime<C: Collection>(with prompts: [C], stepping: Bool, prefillGroup: Int = .max, shouldStop: () -> Bool) -> Bool
    where C.Element: BinaryInteger {
        precondition(prompts.count <= 1 || prompts.count == count, "one prompt per stream, one for all, or none")
        let config = model.config
        if config.input.isVector {
            // Vector inputs are not indices: only zero state (see `startSequence`).
            precondition(prompts.allSatisfy { $0.isEmpty }, "a multi-hot model is primed with startSequence and step(vectors:)")
            network.reset(phase: 0)
            return true
        }
        let inputSize = config.inputSize, cycles = config.cycles
        let kept = (0..<count).map { b -> [Int] in
            prompts.isEmpty ? [] : prompts[prompts.count == 1 ? 0 : b].suffix(inputSize).map { Int($0) }
        }
        // Without a padding input only the prompts are fed, so they must agree in length.
        let padding = model.codec.paddingInput
        let steps = padding == nil ? kept[0].count : inputSize
        precondition(padding != nil || kept.allSatisfy { $0.count == steps }, "prompts of one length without a padding input")
        // The first primed input sits at n = -(inputSize-1) (mod cycles).
        let startPhase = ((-(inputSize - 1)) % cycles + cycles) % cycles
        guard steps > 0 else { network.reset(phase: startPhase); return true }
        if !stepping && count > 1 {
            // One prompt for all is prefilled once, as a single stream; a
            // batch too large to prefill at once, a group at a time.
            let limit = min(network.prefillStreamLimit(steps: steps), prefillGroup)
            let same = kept.allSatisfy { $0 == kept[0] }
            if limit > 0 && (same || count > limit) {
                return primeInGroups(kept, steps: steps, startPhase: startPhase, size: same ? 1 : limit,
                                     copiedToAll: same, shouldStop: shouldStop)
            }
        }
        // Silence always primes to the same state: computed once, then copied.
        let fromSilence = !stepping && kept.allSatisfy { $0.isEmpty }
        if fromSilence, let primed = model.silencePrimed.state(batch: count) {
            network.restore(primed)
            return true
        }
        let all = paddedInputs(kept[...], steps: steps)
        let done = all.withUnsafeBufferPointer { all in
            if !stepping, let done = network.prefill(all.baseAddress!, steps: steps, startPhase: startPhase,
                                                       shouldStop: shouldStop) {
                return done
            }
            network.reset(phase: startPhase)
            var next = [Int](repeating: 0, count: count)
            for t in 0..<steps {
                if t & 1023 == 0 && shouldStop() { return false }
                for b in 0..<count { next[b] = all[b * steps + t] }
                step(next)
            }
            return true
        }
        if done && fromSilence { model.silencePrimed.keep(network.snapshot()) }
        return done
    }

    /// Primes `size` streams at a time in a state of that many, copying each
    /// group into place (or, `copiedToAll`, stream 0's prompt once into every
    /// stream): what priming the whole batch at once leaves, bit for bit,
    /// since each stream's prefill is its own.
    private func primeInGroups(_ kept: [[Int]], steps: Int, startPhase: Int, size: Int, copiedToAll: Bool,
                               shouldStop: () -> Bool) -> Bool {
        var first = 0
        var group: (any NetworkState)?
        while first < count {
            let n = copiedToAll ? 1 : min(size, count - first)
            if group?.batch != n { group = model.weights.makeState(batch: n, team: team) }
            let part = group!
            let fromSilence = copiedToAll && kept[0].isEmpty
            if fromSilence, let primed = model.silencePrimed.state(batch: 1) {
                part.restore(primed)
            } else {
                let all = paddedInputs(kept[first..<first + n], steps: steps)
                let done = all.withUnsafeBufferPointer {
                    part.prefill($0.baseAddress!, steps: steps, startPhase: startPhase, shouldStop: shouldStop)
                }
                guard done == true else { return false }
                if fromSilence { model.silencePrimed.keep(part.snapshot()) }
            }
            for b in copiedToAll ? Array(0..<count) : [first] {
                let copied = network.copyStreams(from: part, to: b)
                precondition(copied, "a family with prefill copies streams")
            }
            if copiedToAll { return true }
            first += n
        }
        return true
    }

    /// The prompts' inputs, stream after stream, `steps` each: every prompt
    /// padded in front with the codec's padding input and clamped to the inputs the network takes.
    private func paddedInputs(_ prompts: ArraySlice<[Int]>, steps: Int) -> [Int] {
        var all = [Int](repeating: clamped(model.codec.paddingInput ?? 0), count: prompts.count * steps)
        for (b, prompt) in prompts.enumerated() {
            for (i, input) in prompt.enumerated() { all[b * steps + steps - prompt.count + i] = clamped(input) }
        }
        return all
    }

    /// `input` if the network takes it, else the last input it takes.
    @inline(__always)
    private func clamped(_ input: Int) -> Int { input >= 0 && input < inputCount ? input : inputCount - 1 }

    /// Feeds one input per stream and updates every stream's logits. Allocates nothing.
    @inline(__always)
    public func step(_ next: UnsafeBufferPointer<Int>) {
        precondition(next.count == count)
        for b in 0..<count { inputs[b] = clamped(next[b]) }
        network.step(inputs)
    }

    /// Feeds one input vector per stream (`vectors.count` is `count` times
    /// the input width: a multi-hot family's frames, stream after stream)
    /// and updates every stream's outputs. Allocates nothing.
    @inline(__always)
    public func step(vectors: UnsafeBufferPointer<Float>) {
        precondition(model.config.input.isVector, "this model takes input indices, not vectors")
        precondition(vectors.count == count * inputCount)
        network.step(vectors: vectors.baseAddress!)
    }

    /// Zeroes every stream and sets the clock as the reference sets it for a
    /// whole sequence of `length` inputs: the music Seq-U-Net's zero-vector
    /// pre-roll from clock 0, the language-model Seq-U-Net's phase that makes
    /// the last input a tick of every level, nothing for a TCN. Feeding the
    /// sequence (`step(vectors:)` or `step(_:)`) then gives the reference's
    /// outputs for it, row for row.
    public func startSequence(ofLength length: Int) {
        network.reset(phase: model.config.sequenceStartPhase(forLength: length))
        let preroll = model.config.prerollSteps(beforeSequenceOf: length)
        guard preroll > 0 else { return }
        let zeros = [Float](repeating: 0, count: count * inputCount)
        zeros.withUnsafeBufferPointer { for _ in 0..<preroll { network.step(vectors: $0.baseAddress!) } }
    }

    /// `step` for an array of inputs, one per stream.
    @inline(__always)
    public func step(_ next: [Int]) { next.withUnsafeBufferPointer { step($0) } }

    /// The slowest clock level that ticks at the next `step` (0 for a single
    /// rate): that step computes levels 0 through this one.
    public var nextTickLevel: Int { network.nextTickLevel }

    /// Bytes of state of the whole batch (ring buffers, caches, scratch).
    public var stateBytes: Int { network.stateBytes }
}
