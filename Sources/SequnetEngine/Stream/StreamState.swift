/// One autoregressive stream over a shared `Model`: the caches of every layer
/// and the clock. Feed it a class, read the logits for the next one.
///
/// ```swift
/// let stream = model.makeStream()
/// stream.prime(with: promptClasses)           // or [] for silence
/// var sampler = Sampler(temperature: 1, seed: 7)
/// for _ in 0..<16_000 {
///     let next = sampler.sample(stream.logits)
///     stream.step(next)
/// }
/// ```
public final class StreamState: @unchecked Sendable {
    enum Engine {
        case seqUNet(SeqUNetState)
        case waveNet(WaveNetState)
    }

    public let model: Model
    let engine: Engine
    /// Number of classes (length of `logits`).
    public let classes: Int
    /// The logits predicting the next sample, valid after `prime` or `step`.
    public let logits: UnsafeBufferPointer<Float>

    init(model: Model) {
        self.model = model
        switch model.weights {
        case .seqUNet(let w):
            let state = SeqUNetState(weights: w)
            engine = .seqUNet(state)
            logits = UnsafeBufferPointer(start: state.logits, count: w.config.classes)
        case .waveNet(let w):
            let state = WaveNetState(weights: w)
            engine = .waveNet(state)
            logits = UnsafeBufferPointer(start: state.logits, count: w.config.classes)
        }
        classes = model.config.classes
        prime(with: [])
    }

    /// Starts the stream as the reference does from a prompt: the last
    /// `inputSize` classes, padded in front with silence (class 128), with
    /// the clock set so that the last prompt sample closes a cycle. An empty
    /// prompt means silence. Afterwards `logits` predict the first new sample.
    public func prime<C: Collection>(with prompt: C) where C.Element == UInt8 {
        let inputSize = model.config.inputSize
        let cycles = model.config.cycles
        let silence = UInt8(classes / 2)
        let kept = Array(prompt.suffix(inputSize))
        let padding = inputSize - kept.count
        // The first primed sample sits at n = -(inputSize-1) (mod cycles).
        let startPhase = ((-(inputSize - 1)) % cycles + cycles) % cycles
        switch engine {
        case .seqUNet(let s): s.reset(phase: startPhase)
        case .waveNet(let s): s.reset()
        }
        for _ in 0..<padding { step(silence) }
        for cls in kept { step(cls) }
    }

    /// Feeds the class of the newest sample and updates `logits`. Allocates nothing.
    @inline(__always)
    public func step(_ inputClass: UInt8) {
        let cls = Int(inputClass) < classes ? Int(inputClass) : classes - 1
        switch engine {
        case .seqUNet(let s): s.step(cls)
        case .waveNet(let s): s.step(cls)
        }
    }

    /// Bytes of stream state (ring buffers, caches, scratch).
    public var stateBytes: Int {
        switch engine {
        case .seqUNet(let s): return s.stateBytes
        case .waveNet(let s): return s.stateBytes
        }
    }
}

extension StreamState {
    /// The highest level whose clock ticks at the next `step` (0 for WaveNet):
    /// that step computes levels 0 through this one.
    public var nextTickLevel: Int {
        switch engine {
        case .seqUNet(let s):
            return s.phase == 0 ? s.weights.config.levels - 1 : s.phase.trailingZeroBitCount
        case .waveNet:
            return 0
        }
    }
}
