import SequnetEngine

/// One listener: a stream of its batch, the samples generated for it and not
/// yet accepted by its connection, and what it has cost. Every field is
/// guarded by the hub's lock; the generator thread writes samples in, the
/// connection's task takes them out.
final class Listener: @unchecked Sendable {
    let id: Int
    let parameters: StreamParameters
    /// Only the generator stepping this listener's batch touches it.
    let sampler: CategoricalSampler
    /// When the request arrived (monotonic seconds).
    let arrived: Double

    enum Phase: String { case joining, priming, playing, done }
    var phase = Phase.joining
    /// Set once no more samples will come: the requested length was
    /// generated, the listener left, the server is stopping, or the model failed.
    var ended = false
    /// Why the stream ended early, for the log line (nil: it ran its length).
    var endReason: String?

    /// Its batch and slot there, while it is generated for.
    weak var batch: Batch?
    var slot = 0
    /// Batch id, kept for `/api/info` after the batch is gone.
    var batchID = 0
    /// False while it waits in a running batch's free slot for the next
    /// clock-cycle boundary (see `Hub`): the slot is fed silence meanwhile.
    var joined = true
    /// Samples the model made for it.
    var sampled = 0

    /// Samples generated for it (a prompt's echo included).
    var generated = 0
    /// Samples its connection has accepted (writes completed).
    var written = 0
    /// Samples handed to the connection whose write has not completed.
    var inFlight = 0
    /// Chunks waiting for the connection, oldest first.
    var queue: [[Int16]] = []
    var queueHead = 0
    /// The connection's task, suspended until a chunk (or the end) arrives.
    var waiting: CheckedContinuation<[Int16]?, Never>?

    /// Monotonic time at which the listener's sample 0 plays if it plays in
    /// real time: set at its first write, moved later whenever the listener
    /// itself fell behind (see `Hub.didWrite`). Nil before the first write.
    var anchor: Double?
    /// Time from the request to the first sample handed to the connection.
    var firstSampleSeconds: Double?
    /// Underruns the server caused: times the listener had taken every sample
    /// and had played them all (by the real-time clock) before the next was generated.
    var underruns = 0
    /// Total time spent in those underruns.
    var lateSeconds = 0.0
    /// Start of the underrun in progress.
    var starvingSince: Double?
    /// Since when its queue has been full (the client is not reading).
    var fullSince: Double?

    init(id: Int, parameters: StreamParameters, arrived: Double) {
        self.id = id
        self.parameters = parameters
        self.sampler = parameters.makeSampler()
        self.arrived = arrived
    }

    /// Samples generated and not yet accepted by the connection.
    var backlog: Int { generated - written }
    var queueIsEmpty: Bool { queueHead == queue.count }

    /// Model samples still to generate (after the prompt's echo); nil: endless.
    var remaining: Int? { parameters.samples.map { max(0, $0 - sampled) } }

    func popChunk() -> [Int16]? {
        guard queueHead < queue.count else { return nil }
        let chunk = queue[queueHead]
        queueHead += 1
        if queueHead > 64 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        return chunk
    }

    /// Samples the listener should have played by `now` if it plays in real time.
    func due(at now: Double, rate: Double) -> Double { anchor.map { (now - $0) * rate } ?? 0 }
}

/// A batch of listeners stepped together: one `StreamBatch` with a slot per
/// listener of the cohort it was started for, and any spare slots. A slot
/// without a listener (spare, or left) is still stepped (the batch's state
/// is one block), on silence; once it has had input-size samples of silence
/// it is in the state a stream primed from silence is in, and a newcomer
/// can take it at a clock-cycle boundary. The batch goes when its last
/// listener does.
final class Batch: @unchecked Sendable {
    let id: Int
    let stream: StreamBatch
    /// The listener in each slot; nil once it has left or ended.
    var slots: [Listener?]
    /// Model samples stepped so far, the same for every slot.
    var generated = 0
    /// A generator thread is stepping it (outside the lock).
    var busy = false
    /// When a generator last took it (monotonic seconds; 0: never).
    var lastServed = 0.0
    /// Inputs of the next step, one per slot.
    var next: [Int]
    /// Per slot, steps of silence fed since it last had a listener sampling.
    var silenceRun: [Int]
    /// Each slot's samples of the chunk being generated.
    var pcm: [[Int16]]

    init(id: Int, stream: StreamBatch, listeners: [Listener?], chunk: Int) {
        self.id = id
        self.stream = stream
        slots = listeners
        next = [Int](repeating: Int(MuLawAudio.silence), count: listeners.count)
        // Primed from silence: every slot has had the input size of it.
        silenceRun = [Int](repeating: stream.model.config.inputSize, count: listeners.count)
        pcm = [[Int16]](repeating: [Int16](repeating: 0, count: chunk), count: listeners.count)
    }

    var live: [Listener] { slots.compactMap { $0 } }
}
