import Foundation
import SequnetAudio
import SequnetEngine

#if canImport(Glibc)
import Glibc
#endif

/// How the hub shares the machine among listeners.
public struct ServeLimits: Sendable {
    /// Listeners at once; one more is answered 503.
    public var maxStreams = 16
    /// Seconds of audio generated ahead of a listener's real-time position
    /// at most; also half of its queue's bound (see `Hub`).
    public var bufferSeconds = 2.0
    /// Listeners arriving within this many seconds of the first start one batch together.
    public var joinWindowSeconds = 0.1
    /// Samples generated per batch between scheduling decisions (and per write).
    public var chunk = 512
    /// Threads computing each step of a batch (`--threads`).
    public var threads = 1
    /// Generator threads, each stepping one batch at a time.
    public var workers = 1
    /// Slots of a new batch at least (spare ones wait for listeners arriving later).
    public var slots = 1
    /// A listener whose queue stays full this long (its client stopped reading) is dropped.
    public var stallSeconds = 10.0

    public init() {}
}

/// Monotonic seconds.
@inline(__always)
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Decoded mu-law as 16-bit PCM, one entry per class (as `generate` writes it).
let pcmOfClass: [Int16] = (0..<MuLawAudio.classes).map { pcm16(MuLawAudio.decode(UInt8($0))) }

/// Every listener is one stream of a `StreamBatch`. The hub gathers
/// listeners into batches, runs the generator threads, and hands each
/// listener's samples to its connection.
///
/// **Joining.** Listeners that arrive within `joinWindowSeconds` of the
/// first of them (a cohort) take free slots of running batches, or else
/// start one new batch together, primed from silence (a copy of the model's
/// silence-primed state), with at least `slots` slots. A free slot (spare,
/// or left by a listener) is fed silence; the network's state is a function
/// of its last input-size inputs and the clock phase, so once a slot has
/// had that much silence, at a clock-cycle boundary (the phase priming
/// leaves), it holds exactly what a stream primed from silence holds. A
/// newcomer takes it there, and its samples are `generate`'s bytes.
///
/// **Scheduling.** Each generator thread takes, among the batches nobody is
/// stepping, the one whose most urgent listener is closest to running dry
/// (earliest deadline first; those already late, or not yet started, take
/// turns, least recently served first) and generates one chunk for all its slots.
/// A batch is generated only while some listener of it is less than
/// `bufferSeconds` ahead of its real-time position, and only while no
/// listener's queue (generated, not yet accepted by its connection) holds
/// `2 x bufferSeconds`: that is the back-pressure of its connection.
///
/// **Underruns.** A listener's real-time position starts at its first
/// write and moves on at the sample rate. It is moved back whenever a write
/// completes with the listener behind it (the client was slower than real
/// time: its own doing). An underrun is counted when a listener has taken
/// every sample generated for it and its real-time position passes the last
/// of them before the next chunk is generated: only the server can be late then.
final class Hub: @unchecked Sendable {
    let model: Model
    let limits: ServeLimits
    let rate = Double(MuLawAudio.sampleRate)
    private let condition = NSCondition()

    // Guarded by `condition`.
    private var listeners: [Int: Listener] = [:]
    private var cohort: [Listener] = []
    private var cohortDeadline = 0.0
    private var batches: [Batch] = []
    private var primingBatches = 0
    private var nextListenerID = 1
    private var nextBatchID = 1
    private(set) var stopping = false
    private var workerThreads: [Thread] = []
    private var runningWorkers = 0
    // Totals since start.
    private(set) var totals = Totals()
    private var marks: [(time: Double, totals: Totals)] = []
    let started = monotonicSeconds()

    struct Totals {
        var listenersServed = 0
        var samplesGenerated = 0
        var stepsTaken = 0
        var busySeconds = 0.0
        var underruns = 0
        var lateSeconds = 0.0
        var batchesStarted = 0
        var dropped = 0
    }

    init(model: Model, limits: ServeLimits) {
        self.model = model
        self.limits = limits
    }

    var aheadSamples: Int { Int(limits.bufferSeconds * rate) }
    /// Samples per clock cycle: a newcomer joins a running batch at a multiple of it.
    var cycles: Int { model.config.cycles }
    var queueBound: Int { 2 * aheadSamples }

    // MARK: Threads

    func start() {
        condition.lock()
        defer { condition.unlock() }
        for index in 0..<limits.workers {
            let thread = Thread { [self] in
                Thread.current.name = "sequnet-gen-\(index)"
                work()
            }
            thread.stackSize = 1 << 22
            runningWorkers += 1
            workerThreads.append(thread)
            thread.start()
        }
    }

    /// Ends every stream (their connections finish their responses) and stops
    /// the generators; returns once no generator is stepping a batch.
    func stop() {
        condition.lock()
        stopping = true
        for listener in listeners.values { end(listener, reason: "server stopping") }
        condition.broadcast()
        let deadline = Date().addingTimeInterval(2)
        while runningWorkers > 0 && condition.wait(until: deadline) {}
        condition.unlock()
    }

    // MARK: Listeners (called from connection tasks)

    /// A new listener, in the cohort that starts the next batch.
    func join(_ parameters: StreamParameters) throws(APIError) -> Listener {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw .busy("the server is stopping") }
        guard listeners.count < limits.maxStreams else {
            throw .busy("\(limits.maxStreams) listeners already (--max-streams); try again shortly")
        }
        let now = monotonicSeconds()
        let listener = Listener(id: nextListenerID, parameters: parameters, arrived: now)
        nextListenerID += 1
        listeners[listener.id] = listener
        totals.listenersServed += 1
        if cohort.isEmpty { cohortDeadline = now + limits.joinWindowSeconds }
        cohort.append(listener)
        condition.broadcast()
        return listener
    }

    /// The next chunk for the connection to write, waiting for it if need
    /// be; nil once the stream has ended.
    func nextChunk(for listener: Listener) async -> [Int16]? {
        await withCheckedContinuation { (continuation: CheckedContinuation<[Int16]?, Never>) in
            condition.lock()
            defer { condition.unlock() }
            if let chunk = take(from: listener) {
                continuation.resume(returning: chunk)
            } else if listener.ended {
                continuation.resume(returning: nil)
            } else {
                listener.waiting = continuation
                condition.broadcast()   // a generator may be waiting to see it starve
            }
        }
    }

    /// Pops a chunk for writing (lock held).
    private func take(from listener: Listener) -> [Int16]? {
        guard !stopping, let chunk = listener.popChunk() else { return nil }
        listener.inFlight = chunk.count
        if listener.anchor == nil {
            let now = monotonicSeconds()
            listener.anchor = now
            listener.firstSampleSeconds = now - listener.arrived
        }
        return chunk
    }

    /// The connection accepted the chunk it was writing.
    func didWrite(_ listener: Listener) {
        condition.lock()
        defer { condition.unlock() }
        listener.written += listener.inFlight
        listener.inFlight = 0
        // Behind real time with everything sent accepted only now: the
        // client was slow (or the server was late and the underrun is
        // already counted). Real time goes on from here.
        let now = monotonicSeconds()
        if let anchor = listener.anchor {
            listener.anchor = max(anchor, now - Double(listener.written) / rate)
        }
        condition.broadcast()
    }

    /// The listener is gone (its connection ended, however): frees its slot at once.
    func leave(_ listener: Listener, reason: String? = nil) {
        condition.lock()
        defer { condition.unlock() }
        if !listener.ended { end(listener, reason: reason ?? "left") }
        listeners[listener.id] = nil
        cohort.removeAll { $0 === listener }
        listener.phase = .done
        condition.broadcast()
    }

    /// Ends a stream (lock held): no more samples, its slot freed, its
    /// connection woken to finish.
    private func end(_ listener: Listener, reason: String?) {
        guard !listener.ended else { return }
        listener.ended = true
        if listener.endReason == nil { listener.endReason = reason }
        settleUnderrun(listener, at: monotonicSeconds())
        if let batch = listener.batch {
            batch.slots[listener.slot] = nil
            batch.silenceRun[listener.slot] = 0
            listener.batch = nil
            removeIfEmpty(batch)
        }
        if let waiting = listener.waiting {
            listener.waiting = nil
            waiting.resume(returning: stopping ? nil : take(from: listener))
        }
    }

    private func removeIfEmpty(_ batch: Batch) {
        if !batch.busy && batch.live.isEmpty { batches.removeAll { $0 === batch } }
    }

    private func settleUnderrun(_ listener: Listener, at now: Double) {
        if let since = listener.starvingSince {
            listener.lateSeconds += max(0, now - since)
            totals.lateSeconds += max(0, now - since)
            listener.starvingSince = nil
        }
    }

    // MARK: Generator threads

    private func work() {
        condition.lock()
        while !stopping {
            let now = monotonicSeconds()
            if !cohort.isEmpty && (now >= cohortDeadline || cohort.count >= limits.maxStreams) { placeCohort() }
            var wake = now + 0.5
            if !cohort.isEmpty { wake = min(wake, cohortDeadline) }
            var best: Batch?
            var bestUrgency = Double.infinity, bestLastServed = Double.infinity
            for batch in batches where !batch.busy {
                let live = batch.live
                var slack = Double.infinity
                var blocked = false
                for listener in live {
                    if let anchor = listener.anchor { watchForUnderrun(listener, anchor: anchor, now: now, wake: &wake) }
                    guard listener.backlog >= queueBound else { listener.fullSince = nil; continue }
                    // Its connection is not taking samples: the batch waits for
                    // it, but not for long if batch-mates are waiting too.
                    blocked = true
                    let patience = live.count > 1 ? limits.bufferSeconds : limits.stallSeconds
                    let since = listener.fullSince ?? now
                    listener.fullSince = since
                    if now - since >= patience {
                        end(listener, reason: "dropped: not reading for \(String(format: "%.1f", patience)) s")
                        totals.dropped += 1
                    } else {
                        wake = min(wake, since + patience)
                    }
                }
                if blocked || batch.live.isEmpty { continue }
                for listener in live {
                    slack = min(slack, Double(listener.generated) - listener.due(at: now, rate: rate))
                    // When this listener comes within `bufferSeconds` of running dry.
                    if let anchor = listener.anchor { wake = min(wake, anchor + Double(listener.generated - aheadSamples) / rate) }
                }
                // Earliest deadline first; batches already late (or not
                // started) take turns, so under overload no batch starves.
                let urgency = max(slack, 0)
                if slack < Double(aheadSamples) && (urgency, batch.lastServed) < (bestUrgency, bestLastServed) {
                    (best, bestUrgency, bestLastServed) = (batch, urgency, batch.lastServed)
                }
            }
            guard let batch = best else {
                _ = condition.wait(until: Date(timeIntervalSinceNow: max(0.0005, wake - now)))
                continue
            }
            batch.busy = true
            batch.lastServed = now
            // Listeners sampling now, and the chunk's length: no slot runs
            // past its length, and a batch with a newcomer waiting stops at
            // the next cycle boundary.
            let slots = batch.slots.map { listener in listener.flatMap { $0.joined ? $0 : nil } }
            var n = limits.chunk
            for case let listener? in slots { if let remaining = listener.remaining { n = min(n, max(remaining, 1)) } }
            if batch.slots.contains(where: { $0.map { !$0.joined } ?? false }) {
                n = min(n, cycles - batch.generated % cycles)
            }
            condition.unlock()
            let chunk = generateChunk(batch, slots: slots, count: n)
            condition.lock()
            totals.busySeconds += chunk.seconds
            totals.stepsTaken += chunk.produced
            handOver(batch, slots: slots, produced: chunk.produced, failed: chunk.failed)
        }
        runningWorkers -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Counts an underrun when a listener waiting for samples has played,
    /// by the real-time clock, all it was sent (lock held).
    private func watchForUnderrun(_ listener: Listener, anchor: Double, now: Double, wake: inout Double) {
        guard listener.starvingSince == nil, listener.waiting != nil, listener.queueIsEmpty, !listener.ended else { return }
        let dry = anchor + Double(listener.written) / rate
        if now >= dry {
            listener.starvingSince = dry
            listener.underruns += 1
            totals.underruns += 1
        } else {
            wake = min(wake, dry)
        }
    }

    /// Starts a batch for the cohort (lock held): priming happens on a thread
    /// of its own, so the batches already playing go on meanwhile.
    private func startBatch() {
        let members = cohort
        cohort = []
        let id = nextBatchID
        nextBatchID += 1
        totals.batchesStarted += 1
        primingBatches += 1
        for (slot, listener) in members.enumerated() {
            listener.phase = .priming
            listener.slot = slot
            listener.batchID = id
        }
        let width = max(members.count, limits.slots)
        let prompts = members.contains { !$0.parameters.prompt.isEmpty }
            ? members.map(\.parameters.prompt) + [[Int]](repeating: [], count: width - members.count) : []
        let thread = Thread { [self] in
            Thread.current.name = "sequnet-prime"
            let stream = model.makeBatch(count: width, threads: limits.threads)
            let primed = stream.prime(with: prompts, shouldStop: { [self] in self.isStopping })
            condition.lock()
            defer { condition.unlock() }
            primingBatches -= 1
            condition.broadcast()
            guard primed, !stopping else { return }
            let batch = Batch(id: id, stream: stream, listeners: members + [Listener?](repeating: nil, count: width - members.count),
                              chunk: limits.chunk)
            for (slot, listener) in members.enumerated() {
                guard !listener.ended else { batch.slots[slot] = nil; batch.silenceRun[slot] = 0; continue }
                listener.batch = batch
                listener.phase = .playing
                if !listener.parameters.prompt.isEmpty {
                    // `generate --prompt` writes what the model heard first.
                    deliver(listener.parameters.prompt.map { pcmOfClass[$0 & 255] }, to: listener, at: monotonicSeconds())
                }
            }
            if !batch.live.isEmpty { batches.append(batch) }
        }
        thread.start()
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    /// One chunk of `count` samples for every listener in `slots`; the
    /// others are fed silence (no lock held: only this thread touches the
    /// batch's stream, samplers and buffers while it is busy). Fewer samples
    /// than asked (`failed`) if logits went non-finite.
    private func generateChunk(_ batch: Batch, slots: [Listener?], count n: Int) -> (produced: Int, failed: Bool, seconds: Double) {
        let start = monotonicSeconds()
        let stream = batch.stream
        let silence = Int(MuLawAudio.silence)
        for b in 0..<slots.count where slots[b] == nil { batch.next[b] = silence }
        var produced = n
        chunkLoop: for i in 0..<n {
            for b in 0..<slots.count {
                guard let listener = slots[b] else { continue }
                let logits = stream.logits(b)
                guard allFinite(logits) else { produced = i; break chunkLoop }
                let next = listener.sampler.sample(logits)
                batch.next[b] = next
                batch.pcm[b][i] = pcmOfClass[next]
            }
            stream.step(batch.next)
        }
        return (produced, produced < n, monotonicSeconds() - start)
    }

    /// Gives each listener that was sampled its samples, counts the silence
    /// fed to the other slots, and lets waiting newcomers in at a cycle
    /// boundary (lock held).
    private func handOver(_ batch: Batch, slots: [Listener?], produced: Int, failed: Bool) {
        let now = monotonicSeconds()
        batch.busy = false
        for (b, slot) in slots.enumerated() {
            guard let listener = slot else {
                batch.silenceRun[b] += produced
                continue
            }
            guard !listener.ended, batch.slots[b] === listener else { continue }
            if produced > 0 {
                deliver(Array(batch.pcm[b][0..<produced]), to: listener, at: now)
                listener.sampled += produced
                totals.samplesGenerated += produced
            }
            if let remaining = listener.remaining, remaining == 0 { end(listener, reason: nil) }
        }
        batch.generated += produced
        if failed {
            for listener in batch.live { end(listener, reason: "model error: non-finite logits after \(batch.generated) samples") }
        }
        admitNewcomers(batch)
        removeIfEmpty(batch)
        mark(now)
        condition.broadcast()
    }

    /// Newcomers waiting in `batch` start sampling if the batch is at a
    /// cycle boundary and their slot has had input-size samples of silence (lock held).
    private func admitNewcomers(_ batch: Batch) {
        guard batch.generated % cycles == 0 else { return }
        for (b, slot) in batch.slots.enumerated() {
            guard let listener = slot, !listener.joined, batch.silenceRun[b] >= model.config.inputSize else { continue }
            listener.joined = true
            listener.phase = .playing
        }
    }

    /// The listeners of a cohort take free slots of running batches (those
    /// not held back by a slow client), or else start a batch (lock held).
    /// A listener with a prompt needs priming of its own: always a new batch.
    private func placeCohort() {
        var newcomers: [Listener] = []
        for listener in cohort {
            guard listener.parameters.prompt.isEmpty, let (batch, slot) = freeSlot() else {
                newcomers.append(listener)
                continue
            }
            batch.slots[slot] = listener
            listener.batch = batch
            listener.slot = slot
            listener.batchID = batch.id
            listener.joined = false
            admitNewcomers(batch)
        }
        cohort = newcomers
        if !cohort.isEmpty { startBatch() }
    }

    /// The free slot of a running batch that will be ready soonest (the
    /// most silence fed), if any.
    private func freeSlot() -> (Batch, Int)? {
        var best: (Batch, Int)?
        var bestRun = -1
        for batch in batches where !batch.busy && !batch.live.isEmpty {
            guard !batch.live.contains(where: { $0.backlog >= queueBound }) else { continue }
            for b in 0..<batch.slots.count where batch.slots[b] == nil && batch.silenceRun[b] > bestRun {
                (best, bestRun) = ((batch, b), batch.silenceRun[b])
            }
        }
        return best
    }

    private func deliver(_ chunk: [Int16], to listener: Listener, at now: Double) {
        // A listener that took everything and was due more before this chunk
        // came was kept waiting by the server (the generator loop may not
        // have looked while it was generating).
        if listener.starvingSince == nil, listener.waiting != nil, listener.queueIsEmpty, let anchor = listener.anchor {
            let dry = anchor + Double(listener.written) / rate
            if now > dry {
                listener.starvingSince = dry
                listener.underruns += 1
                totals.underruns += 1
            }
        }
        listener.queue.append(chunk)
        listener.generated += chunk.count
        settleUnderrun(listener, at: now)
        if let waiting = listener.waiting, let next = take(from: listener) {
            listener.waiting = nil
            waiting.resume(returning: next)
        }
    }

    /// Keeps the totals about once a second for the last few seconds, for rates.
    private func mark(_ now: Double) {
        if let last = marks.last, now - last.time < 1 { return }
        marks.append((now, totals))
        if marks.count > 6 { marks.removeFirst(marks.count - 6) }
    }

    // MARK: Reports

    /// `body` applied to a listener under the lock.
    func report<T>(_ listener: Listener, _ body: (Listener) -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body(listener)
    }

    /// Everything `/api/info` shows of the hub, as JSON-ready values.
    func report() -> [String: Any] {
        condition.lock()
        defer { condition.unlock() }
        let now = monotonicSeconds()
        let streams: [[String: Any]] = listeners.values.sorted { $0.id < $1.id }.map { l in
            var s: [String: Any] = [
                "id": l.id, "seed": l.parameters.seed, "temperature": Double(l.parameters.temperature),
                "min_p": Double(l.parameters.minP), "phase": l.phase.rawValue, "batch": l.batchID,
                "samples_generated": l.generated, "samples_sent": l.written,
                "seconds_sent": Double(l.written) / rate,
                "buffered_seconds": max(0, Double(l.generated) - l.due(at: now, rate: rate)) / rate,
                "underruns": l.underruns, "late_ms": (l.lateSeconds + (l.starvingSince.map { now - $0 } ?? 0)) * 1000,
                "age_seconds": now - l.arrived,
            ]
            s["samples"] = l.parameters.samples ?? NSNull()
            s["first_sample_ms"] = l.firstSampleSeconds.map { $0 * 1000 } ?? NSNull()
            if !l.parameters.prompt.isEmpty { s["prompt_samples"] = l.parameters.prompt.count }
            return s
        }
        // Rates over the last few seconds of marks (or since the start).
        let (then, before) = marks.first.map { ($0.time, $0.totals) } ?? (started, Totals())
        let span = max(now - then, 1e-3)
        let generated = Double(totals.samplesGenerated - before.samplesGenerated)
        let steps = Double(totals.stepsTaken - before.stepsTaken)
        let busy = totals.busySeconds - before.busySeconds
        let batchList: [[String: Any]] = batches.map { b in
            ["id": b.id, "slots": b.slots.count, "listeners": b.live.count, "samples": b.generated,
             "joining": b.live.filter { !$0.joined }.count]
        }
        return [
            "listeners": listeners.count,
            "batches": batchList,
            "priming_batches": primingBatches,
            "streams": streams,
            "underruns": totals.underruns,
            "late_ms": totals.lateSeconds * 1000,
            "listeners_served": totals.listenersServed,
            "listeners_dropped": totals.dropped,
            "batches_started": totals.batchesStarted,
            "samples_generated": totals.samplesGenerated,
            "uptime_seconds": now - started,
            // Samples sent per second of the last few seconds, all listeners.
            "samples_per_second": generated / span,
            // How much faster than real time the generators ran while they
            // worked: samples made per second of generator time / the sample rate.
            "real_time_factor": busy > 0 ? generated / busy / rate : 0,
            // Batch steps per second of generator time (each step makes one sample per slot).
            "steps_per_busy_second": busy > 0 ? steps / busy : 0,
            // The share of the generator threads' time spent generating.
            "load": busy / span / Double(limits.workers),
        ]
    }
}
