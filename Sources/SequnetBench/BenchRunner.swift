import Foundation
import Histogram
import SequnetEngine

/// What to measure.
public struct BenchOptions: Sendable {
    /// Steps to time per repeat; nil sizes the run to about 3 s (whole clock cycles).
    public var samples: Int?
    /// Timed repeats; the median repeat is reported.
    public var repeats = 3
    /// Streams stepped together as one batch (each layer one product for all).
    public var streams = 1
    /// Independent batches, each on its own thread(s), sharing one set of weights.
    public var independent = 1
    /// Threads computing each batch's steps (sharing every product's rows).
    public var threadsPerStream = 1
    /// Also time the bare-sgemv replay of the layer schedule.
    public var replay = true
    /// Also time each matrix shape with the panel kernel and with sgemv.
    public var kernels = false
    /// Also time priming from a prompt of this many steps (nil: not timed).
    public var promptSamples: Int?
    /// Also measure OpenBLAS sgemm on `threadsPerStream` threads: the fp32 compute bound.
    public var sgemmPeak = false

    public init() {}
}

/// A finished measurement: the report and the merged per-step latency histogram.
public struct BenchMeasurement {
    public let report: BenchReport
    public let latencyHistogram: Histogram<UInt64>
}

/// Times a model's streaming step: every step of streams fed their own
/// argmax, after a warm-up, plus (optionally) the sgemv replay and the
/// cache-model bound, all in one run.
public enum BenchRunner {
    public static func run(model: Model, label: String, options: BenchOptions) -> BenchMeasurement {
        let config = model.config
        let cycles = config.cycles

        // Warm-up: touch every level's weights, and size the run.
        let probe = model.makeBatch(count: 1, threads: options.threadsPerStream)
        probe.prime(with: [[Int]]())
        var probeFeedback = GreedyFeedback(probe)
        let warmupSamples = max(cycles * 2, 2048)
        let warmStart = MonotonicClock.seconds()
        for _ in 0..<warmupSamples { probeFeedback.step() }
        let roughRate = Double(warmupSamples) / max(MonotonicClock.seconds() - warmStart, 1e-9)
        // About 3 s of one stream's work, spread over the batch.
        var n = options.samples ?? Int(roughRate * 3) / options.streams
        n = max(cycles, (n + cycles - 1) / cycles * cycles)

        let streams = measureStreams(model: model, samples: n, options: options)
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        for s in streams { histogram.add(s.histogram) }
        let repeats = options.repeats
        let samplesPerSecond = (0..<repeats).map { r in
            streams.reduce(0.0) { $0 + Double(n * options.streams) / $1.seconds[r] }
        }.sorted()[repeats / 2]
        let perStream = samplesPerSecond / Double(options.streams * options.independent)
        let rate = model.codec.stepsPerSecond

        // Multi-hot models are fed whole sequences, not primed from a window.
        let priming = model.config.input.isVector ? nil
            : options.promptSamples.map { measurePriming(model: model, promptSamples: $0, options: options) }
        let bound = BandwidthBound(model.weightReads, threads: options.threadsPerStream)
        let replay = options.replay ? measureReplay(model: model, samples: n, repeats: repeats) : nil
        // after the streams, so that OpenBLAS's threads are not spinning while they run
        let sgemm = options.sgemmPeak ? SGEMMPeak.measure(threads: options.threadsPerStream * options.independent) : nil
        let report = BenchReport(
            model: label, architecture: type(of: config).architecture, parameters: model.parameterCount,
            precision: model.precision.rawValue, threads: options.threadsPerStream, streams: options.streams,
            independent: options.independent,
            kernelPath: KernelPath.active.rawValue, samplesTimed: n, repeats: repeats,
            warmupSamples: warmupSamples, stepsPerSecondOfRealTime: rate,
            realTimeFactor: rate.map { perStream / Double($0) },
            samplesPerSecond: samplesPerSecond, samplesPerSecondPerStream: perStream,
            latency: LatencySummary(histogram), tickCosts: tickCosts(streams),
            stateBytes: probe.stateBytes, weightBytes: model.weightBytes,
            weightBytesPerSample: model.weightBytesPerSample, multiplyAddsPerSample: model.multiplyAddsPerSample,
            // Slower than real time, no buffer is enough for an endless stream.
            minBufferMs: rate.flatMap { Double(perStream) > Double($0) ? minimumBufferMs(stepTimes: streams[0].stepTimes, rate: Double($0)) : nil },
            weightBandwidthGBPerSecond: model.weightBytesPerSample * perStream / 1e9,
            measuredReadBandwidthGBPerSecond: model.weightBytesPerSample * bound.samplesPerSecond / 1e9,
            boundSamplesPerSecond: bound.samplesPerSecond,
            bandwidthByPeriod: bound.groups.map {
                .init(periodSamples: $0.reads.periodSamples, bytes: $0.reads.bytes, bytesPerSample: $0.reads.bytesPerSample,
                      footprintBytes: $0.footprintBytes, readGBPerSecond: $0.bytesPerSecond / 1e9)
            },
            replaySamplesPerSecond: replay, engineOverReplay: replay.map { perStream / $0 },
            kernels: options.kernels ? SGEMVReplay(model: model).compareKernels() : nil,
            promptSamples: options.promptSamples, prefillSamplesPerSecond: priming?.stepsPerSecond,
            timeToFirstSampleMs: priming.map { $0.seconds * 1000 },
            silencePrimingMs: priming.map { $0.silenceSeconds * 1000 }, silenceCopyMs: priming.map { $0.copySeconds * 1000 },
            sgemmGFLOPs: sgemm, computeBoundSamplesPerSecond: sgemm.map { $0 * 1e9 / (2 * model.multiplyAddsPerSample) },
            machine: machineSummary(), stepUnit: model.codec.stepName)
        return BenchMeasurement(report: report, latencyHistogram: histogram)
    }

    // MARK: Streams

    struct StreamTiming {
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var seconds: [Double] = []
        var tickNanos: [UInt64] = []
        var tickCounts: [Int] = []
        var stepTimes: [Double] = []   // first repeat, seconds per step
    }

    private static func measureStreams(model: Model, samples n: Int, options: BenchOptions) -> [StreamTiming] {
        /// Each thread writes only its own slot; the group's wait orders the reads.
        final class Slots: @unchecked Sendable {
            var items: [StreamTiming]
            init(_ n: Int) { items = [StreamTiming](repeating: StreamTiming(), count: n) }
        }
        let results = Slots(options.independent)
        let lock = NSLock()
        let group = DispatchGroup()
        for t in 0..<options.independent {
            group.enter()
            let thread = Thread {
                let result = timeStream(model: model, samples: n, repeats: options.repeats, streams: options.streams,
                                        threads: options.threadsPerStream)
                lock.lock(); results.items[t] = result; lock.unlock()
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        return results.items
    }

    /// One batch of `streams`, each fed its own argmax, every step timed.
    private static func timeStream(model: Model, samples n: Int, repeats: Int, streams: Int, threads: Int) -> StreamTiming {
        let levels = model.config.timeScales
        var result = StreamTiming()
        result.tickNanos = [UInt64](repeating: 0, count: levels)
        result.tickCounts = [Int](repeating: 0, count: levels)
        result.stepTimes = [Double](repeating: 0, count: n)
        let batch = model.makeBatch(count: streams, threads: threads)
        batch.prime(with: [[Int]]())
        var feedback = GreedyFeedback(batch)
        for r in 0..<repeats {
            let start = MonotonicClock.nanoseconds()
            var before = start
            for i in 0..<n {
                let level = batch.nextTickLevel
                feedback.step()
                let after = MonotonicClock.nanoseconds()
                let took = after - before
                before = after
                _ = result.histogram.record(took)
                result.tickNanos[level] &+= took
                result.tickCounts[level] += 1
                if r == 0 { result.stepTimes[i] = Double(took) * 1e-9 }
            }
            result.seconds.append(Double(before - start) * 1e-9)
        }
        return result
    }

    private static func tickCosts(_ streams: [StreamTiming]) -> [BenchReport.TickCost] {
        guard let first = streams.first else { return [] }
        return first.tickCounts.indices.compactMap { level in
            let count = streams.reduce(0) { $0 + $1.tickCounts[level] }
            let nanos = streams.reduce(UInt64(0)) { $0 + $1.tickNanos[level] }
            return count > 0 ? .init(level: level, meanUs: Double(nanos) / Double(count) / 1000, count: count) : nil
        }
    }

    /// Priming a batch from a prompt of `promptSamples` steps (a fixed
    /// pattern), median of `repeats`: the time from the start of priming to
    /// the first sample's distribution, and the prompt steps per second.
    private static func measurePriming(model: Model, promptSamples: Int, options: BenchOptions)
        -> (seconds: Double, stepsPerSecond: Double, silenceSeconds: Double, copySeconds: Double) {
        // From silence: the first batch of this size computes it (a fresh
        // model of the same weights, so nothing is cached), later ones copy it.
        let fresh = try! Model(weights: model.weights, precision: model.precision)
        var start = MonotonicClock.seconds()
        fresh.makeBatch(count: options.streams, threads: options.threadsPerStream).prime(with: [[Int]]())
        let silence = MonotonicClock.seconds() - start
        let copy = fresh.makeBatch(count: options.streams, threads: options.threadsPerStream)
        start = MonotonicClock.seconds()
        copy.prime(with: [[Int]]())
        let copySeconds = MonotonicClock.seconds() - start
        let prompt = (0..<promptSamples).map { 96 + ($0 * 37) % 64 }
        let batch = model.makeBatch(count: options.streams, threads: options.threadsPerStream)
        let times = (0..<options.repeats).map { _ -> Double in
            let start = MonotonicClock.seconds()
            batch.prime(with: [prompt])
            return MonotonicClock.seconds() - start
        }.sorted()
        let median = times[times.count / 2]
        // Priming feeds the input size (the prompt's tail, padded in front).
        return (median, Double(min(promptSamples, model.config.inputSize)) / median, silence, copySeconds)
    }

    /// Samples/s of the bare-sgemv replay (median of `repeats`), one thread.
    private static func measureReplay(model: Model, samples n: Int, repeats: Int) -> Double {
        let replay = SGEMVReplay(model: model)
        for _ in 0..<min(n, 4096) { replay.step() }
        var rates: [Double] = []
        for _ in 0..<repeats {
            let start = MonotonicClock.seconds()
            for _ in 0..<n { replay.step() }
            rates.append(Double(n) / (MonotonicClock.seconds() - start))
        }
        return rates.sorted()[rates.count / 2]
    }

    /// The smallest playback buffer (ms) that never underruns if playback
    /// starts once that many samples exist and then consumes `rate` per second,
    /// given each step's measured time.
    static func minimumBufferMs(stepTimes: [Double], rate: Double) -> Double {
        guard !stepTimes.isEmpty else { return 0 }
        var done = [Double](repeating: 0, count: stepTimes.count)   // completion time of sample i
        var t = 0.0
        for i in stepTimes.indices { t += stepTimes[i]; done[i] = t }
        // Playback starts when sample `buffer - 1` is done; sample i plays at
        // start + i / rate and must be done by then.
        func playable(_ buffer: Int) -> Bool {
            let start = done[buffer - 1]
            for i in buffer..<done.count where done[i] > start + Double(i) / rate { return false }
            return true
        }
        var lo = 1, hi = done.count
        if !playable(hi) { return Double(hi) / rate * 1000 }
        while lo < hi {
            let mid = (lo + hi) / 2
            if playable(mid) { hi = mid } else { lo = mid + 1 }
        }
        return Double(lo) / rate * 1000
    }

    private static func machineSummary() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }
}

/// Steps a batch on its own most likely outputs: each stream's argmax class,
/// or, for a multi-hot model, the keys whose logit is positive. The streams
/// start from different inputs, so their paths differ.
struct GreedyFeedback {
    let batch: StreamBatch
    private var indices: [Int]
    private var frames: [Float]
    private let width: Int

    init(_ batch: StreamBatch) {
        self.batch = batch
        let model = batch.model
        width = model.config.input.width
        indices = (0..<batch.count).map { ((model.codec.paddingInput ?? 0) + $0) % batch.inputCount }
        frames = [Float](repeating: 0, count: model.config.input.isVector ? batch.count * width : 0)
        for b in 0..<(frames.isEmpty ? 0 : batch.count) { frames[b * width + (40 + 5 * b) % width] = 1 }
    }

    @inline(__always)
    mutating func step() {
        if frames.isEmpty {
            batch.step(indices)
            for b in 0..<batch.count { indices[b] = argmax(batch.logits(b)) }
        } else {
            frames.withUnsafeBufferPointer { batch.step(vectors: $0) }
            for b in 0..<batch.count {
                let logits = batch.logits(b)
                for k in 0..<min(width, logits.count) { frames[b * width + k] = logits[k] > 0 ? 1 : 0 }
            }
        }
    }
}

/// The most likely output: what the benchmark feeds back.
@inline(__always)
func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
    var best = 0
    for i in 1..<logits.count where logits[i] > logits[best] { best = i }
    return best
}
