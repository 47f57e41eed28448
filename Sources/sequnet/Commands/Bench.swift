import ArgumentParser
import Foundation
import Histogram
import SequnetEngine

/// `sequnet bench`: per-sample speed and latency of the streaming engine,
/// measured against a bare-sgemv replay of the same layer schedule.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure generation speed and per-sample latency (one stream per thread, batch 1).",
        discussion: """
            Times every step of a stream fed its own samples (argmax), after a warm-up, \
            and in the same run replays the model's layer schedule as bare OpenBLAS sgemv \
            calls (the floor a per-layer engine has to beat). --arch builds random weights \
            of any size, e.g. the paper's models:
              \(ArchitectureSpec.paperSeqUNet)
              \(ArchitectureSpec.paperWaveNet)
            The bound is a cache model: the weights read every p samples are charged \
            at the read bandwidth this machine gives for everything touched between two \
            of their reads, and the engine's speed is shown as a share of that bound.
            """)

    @Option(name: [.customShort("m"), .long], help: ArgumentHelp("Checkpoint to measure (default: the bundled model).", valueName: "PATH"))
    var model: String?

    @Option(help: ArgumentHelp("Random-weight model from a spec instead of a checkpoint.", valueName: "SPEC"))
    var arch: String?

    @OptionGroup var layout: WaveNetLayoutOptions

    @Option(help: ArgumentHelp("Samples to time per repeat (default: about 3 s of work, whole clock cycles).", valueName: "N"))
    var samples: Int?

    @Option(help: ArgumentHelp("Timed repeats; the median repeat is reported.", valueName: "R"))
    var repeats: Int = 3

    @Option(help: ArgumentHelp("Independent streams, one per thread, sharing one set of weights.", valueName: "T"))
    var threads: Int = 1

    @Option(help: ArgumentHelp("Arithmetic precision (fp32 is the only one).", valueName: "P"))
    var precision: String = "fp32"

    @Flag(help: "Skip the sgemv replay.")
    var noReplay = false

    @Flag(help: "Also time each matrix shape of the model with the panel kernel and with OpenBLAS sgemv.")
    var kernels = false

    @Option(help: ArgumentHelp("Write a latency histogram picture (SVG).", valueName: "PATH"))
    var histogram: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        if model != nil && arch != nil { throw ValidationError("give -m MODEL or --arch SPEC, not both") }
        if let model { try requireFile(model, what: "model file") }
        if let arch {
            do { _ = try ArchitectureSpec.parse(arch) } catch { throw ValidationError("\(error)") }
        }
        guard precision.lowercased() == "fp32" else {
            throw ValidationError("unknown precision '\(precision)' (supported: fp32)")
        }
        if let samples, samples <= 0 { throw ValidationError("--samples must be positive, got \(samples)") }
        guard (1...64).contains(repeats) else { throw ValidationError("--repeats must be 1...64, got \(repeats)") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be 1...256, got \(threads)") }
    }

    func run() throws {
        let (model, label) = try loadModel()
        let config = model.config
        let rate = Double(model.sampleRate)
        let cycles = config.cycles

        // Warm-up: touch every level's weights, and size the run.
        let probe = model.makeStream()
        let warmupSamples = max(cycles * 2, 2048)
        let warmStart = now()
        var cls = MuLaw.silence
        for _ in 0..<warmupSamples { probe.step(cls); cls = argmax(probe.logits) }
        let roughRate = Double(warmupSamples) / max(now() - warmStart, 1e-9)
        var n = samples ?? Int(roughRate * 3)
        n = max(cycles, (n + cycles - 1) / cycles * cycles)

        let results = measureStreams(model: model, samples: n)
        let merged = results.merged
        let replayRate: Double? = noReplay ? nil : measureReplay(model: model, samples: n)

        let samplesPerSecond = results.samplesPerSecond
        let perStream = samplesPerSecond / Double(threads)
        let latency = LatencySummary(merged.histogram)
        // Slower than real time, no buffer is enough for an endless stream.
        let bufferMs: Double? = perStream > rate ? minimumBufferMs(stepTimes: results.firstStreamStepTimes, rate: rate) : nil
        let tickCosts = results.tickCostsUs
        let stateBytes = probe.stateBytes
        // What bounds it: each group of weights streamed at the read bandwidth
        // this machine gives for that group's reuse footprint, against what
        // the engine pulls through.
        let bound = bandwidthBound(model.weightReads)
        let bandwidth = model.weightBytesPerSample * bound.samplesPerSecond   // effective, over all groups
        let engineBandwidth = model.weightBytesPerSample * perStream

        let kernelTimings = kernels ? SGEMVReplay(model: model).compareKernels() : []

        if let histogram {
            try writeHistogramSVG(merged.histogram, title: "\(label): per-sample latency", to: histogram)
        }

        if json {
            var object: [String: Any] = [
                "model": label,
                "architecture": config.architectureName,
                "parameters": model.parameterCount,
                "precision": "fp32",
                "threads": threads,
                "samples_timed": n,
                "repeats": repeats,
                "samples_per_second": samplesPerSecond,
                "samples_per_second_per_stream": perStream,
                "real_time_factor": perStream / rate,
                "latency_us": ["p50": latency.p50, "p90": latency.p90, "p99": latency.p99,
                               "p999": latency.p999, "max": latency.max, "mean": latency.mean],
                "tick_cost_us": tickCosts.map { ["level": $0.level, "mean_step_us": $0.meanUs, "steps": $0.count] },
                "state_bytes": stateBytes,
                "weight_bytes": model.weightBytes,
                "weight_bytes_per_sample": model.weightBytesPerSample,
                "multiply_adds_per_sample": model.multiplyAddsPerSample,
                "min_buffer_ms": bufferMs as Any? ?? NSNull(),
                "weight_bandwidth_gb_per_s": engineBandwidth / 1e9,
                "measured_read_bandwidth_gb_per_s": bandwidth / 1e9,
                "bandwidth_bound_samples_per_second": bound.samplesPerSecond,
                "bandwidth_by_period": bound.groups.map {
                    ["period_samples": $0.reads.periodSamples, "bytes_per_sample": $0.reads.bytesPerSample,
                     "reuse_footprint_bytes": $0.footprintBytes, "read_gb_per_s": $0.bytesPerSecond / 1e9] as [String: Any]
                },
            ]
            if let replayRate {
                object["replay_samples_per_second"] = replayRate
                object["engine_over_replay"] = perStream / replayRate
            }
            if kernels {
                object["kernels"] = kernelTimings.map {
                    ["rows": $0.rows, "columns": $0.columns, "layers": $0.count,
                     "panel_ns": $0.panelNanos, "sgemv_ns": $0.sgemvNanos] as [String: Any]
                }
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }

        var rows: [(String, String)] = [
            ("model", "\(label), \(grouped(model.parameterCount)) parameters"),
            ("setup", "fp32, batch 1, \(threads) stream\(threads == 1 ? "" : "s") on \(threads) thread\(threads == 1 ? "" : "s"), \(grouped(n)) samples x \(repeats) repeats after \(grouped(warmupSamples)) warm-up, \(cpuSummary())"),
            ("speed", String(format: "%@ samples/s per stream (%.2fx real time at %d Hz)%@",
                             grouped(Int(perStream)), perStream / rate, model.sampleRate,
                             threads > 1 ? String(format: ", %@ samples/s in all", grouped(Int(samplesPerSecond))) : "")),
        ]
        if let replayRate {
            rows.append(("sgemv replay", String(format: "%@ samples/s (engine/replay %.2fx)", grouped(Int(replayRate)), perStream / replayRate)))
        }
        rows += [
            ("latency (us)", String(format: "p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f", latency.p50, latency.p90, latency.p99, latency.p999, latency.max)),
            ("min buffer", bufferMs.map { String(format: "%.2f ms plays in real time without an underrun", $0) }
                ?? "none: slower than real time, so any buffer underruns eventually"),
            ("stream state", humanBytes(Double(stateBytes)) + " per stream"),
            ("weights", String(format: "%@ in all, %@ read per sample (%.1f GB/s at this speed)",
                               humanBytes(Double(model.weightBytes)), humanBytes(model.weightBytesPerSample),
                               model.weightBytesPerSample * perStream / 1e9)),
            ("multiply-adds", grouped(Int(model.multiplyAddsPerSample.rounded())) + " per sample"),
            ("bound", String(format: "reading %@ of weights per sample, each group at the bandwidth measured for its reuse footprint (%.1f GB/s overall), allows %@ samples/s; the engine reaches %.0f%%",
                             humanBytes(model.weightBytesPerSample), bandwidth / 1e9,
                             grouped(Int(bound.samplesPerSecond)), perStream / bound.samplesPerSecond * 100)),
        ]
        rows += labelled("bandwidth by period", bound.groups) { group in
            String(format: "every %5d samples: %@ read, reuse footprint %@, %.1f GB/s, %.0f%% of the bound's time",
                   group.reads.periodSamples, humanBytes(group.reads.bytes), humanBytes(Double(group.footprintBytes)),
                   group.bytesPerSecond / 1e9, group.reads.bytesPerSample / group.bytesPerSecond * bound.samplesPerSecond * 100)
        }
        rows += labelled("step by top level", tickCosts) { cost in
            String(format: "level %2d ticks: %9.1f us mean over %@ steps", cost.level, cost.meanUs, grouped(cost.count))
        }
        rows += labelled("kernel by shape", kernelTimings) { timing in
            String(format: "[%4d x %5d] x%-3d panel %9.0f ns  sgemv %9.0f ns  sgemv/panel time %.2f",
                   timing.rows, timing.columns, timing.count, timing.panelNanos, timing.sgemvNanos, timing.panelSpeedup)
        }
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows {
            // continuation rows (empty key) line up under the value column
            print((key.isEmpty ? " " : key + ":") + String(repeating: " ", count: width - key.count + 1) + value)
        }
    }

    /// Table rows for a list: the label on the first row, continuation rows after it.
    private func labelled<T>(_ label: String, _ items: [T], _ describe: (T) -> String) -> [(String, String)] {
        items.enumerated().map { ($0.offset == 0 ? label : "", describe($0.element)) }
    }

    private func loadModel() throws -> (Model, String) {
        if let arch {
            let config = try ArchitectureSpec.parse(arch)
            return (try Model(randomWeightsFor: config, seed: 1), arch + " (random weights)")
        }
        let loaded = try LoadedModel(path: try model ?? ModelLocator.defaultModelPath(),
                                     waveNetLayersPerBlock: layout.layersPerBlock)
        return (loaded.model, loaded.summary)
    }

    // MARK: Measurement

    struct StreamResult {
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var seconds: [Double] = []
        var tickNanos: [UInt64] = []
        var tickCounts: [Int] = []
        var stepTimes: [Double] = []   // first repeat, seconds per step
    }

    struct Results {
        var streams: [StreamResult]
        let repeats: Int
        let samples: Int

        var merged: StreamResult {
            var m = StreamResult()
            for s in streams { m.histogram.add(s.histogram) }
            return m
        }
        /// Median repeat's aggregate rate over all streams.
        var samplesPerSecond: Double {
            (0..<repeats).map { r in streams.reduce(0.0) { $0 + Double(samples) / $1.seconds[r] } }.sorted()[repeats / 2]
        }
        var firstStreamStepTimes: [Double] { streams.first?.stepTimes ?? [] }
        var tickCostsUs: [(level: Int, meanUs: Double, count: Int)] {
            guard let first = streams.first else { return [] }
            var out: [(Int, Double, Int)] = []
            for level in first.tickCounts.indices {
                let count = streams.reduce(0) { $0 + $1.tickCounts[level] }
                let nanos = streams.reduce(UInt64(0)) { $0 + $1.tickNanos[level] }
                if count > 0 { out.append((level, Double(nanos) / Double(count) / 1000, count)) }
            }
            return out
        }
    }

    private func measureStreams(model: Model, samples n: Int) -> Results {
        let levels = model.config.timeScales
        let repeats = self.repeats
        /// Each thread writes only its own slot; the group's wait orders the reads.
        final class Slots: @unchecked Sendable {
            var items: [StreamResult]
            init(_ n: Int) { items = [StreamResult](repeating: StreamResult(), count: n) }
        }
        let results = Slots(threads)
        let lock = NSLock()
        let group = DispatchGroup()
        for t in 0..<threads {
            group.enter()
            let thread = Thread {
                let result = Bench.timeStream(model: model, samples: n, repeats: repeats, levels: levels)
                lock.lock(); results.items[t] = result; lock.unlock()
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        return Results(streams: results.items, repeats: repeats, samples: n)
    }

    /// One stream, fed its own argmax, every step timed.
    private static func timeStream(model: Model, samples n: Int, repeats: Int, levels: Int) -> StreamResult {
        var result = StreamResult()
        result.tickNanos = [UInt64](repeating: 0, count: levels)
        result.tickCounts = [Int](repeating: 0, count: levels)
        result.stepTimes = [Double](repeating: 0, count: n)
        let stream = model.makeStream()
        stream.prime(with: [])
        var cls = MuLaw.silence
        for r in 0..<repeats {
            let start = monotonicNanos()
            var before = start
            for i in 0..<n {
                let level = stream.nextTickLevel
                stream.step(cls)
                cls = argmax(stream.logits)
                let after = monotonicNanos()
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

    /// Samples/s of the bare-sgemv replay (median of `repeats`), one thread.
    private func measureReplay(model: Model, samples n: Int) -> Double {
        let replay = SGEMVReplay(model: model)
        for _ in 0..<min(n, 4096) { replay.step() }
        var rates: [Double] = []
        for _ in 0..<repeats {
            let start = now()
            for _ in 0..<n { replay.step() }
            rates.append(Double(n) / (now() - start))
        }
        return rates.sorted()[rates.count / 2]
    }

    /// The smallest playback buffer (ms) that never underruns if playback
    /// starts once that many samples exist and then consumes `rate` per second,
    /// given each step's measured time.
    private func minimumBufferMs(stepTimes: [Double], rate: Double) -> Double {
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

    /// A cache model of the fastest a step could go if reading weights were
    /// all it did. Weights read every p samples are read again only after every
    /// other group has been read p/q times (q its own period, at most once
    /// each): that footprint decides which cache serves them, so each group is
    /// charged its bytes at the read bandwidth measured for its footprint.
    /// A single bandwidth for all the weights would charge a Seq-U-Net's
    /// level-0 weights, which stay in cache, at DRAM speed.
    private func bandwidthBound(_ reads: [WeightReads]) -> (samplesPerSecond: Double, groups: [(reads: WeightReads, footprintBytes: Int, bytesPerSecond: Double)]) {
        var groups: [(reads: WeightReads, footprintBytes: Int, bytesPerSecond: Double)] = []
        var secondsPerSample = 0.0
        for group in reads {
            let footprint = reads.reduce(0.0) { $0 + $1.bytes * min(1, Double(group.periodSamples) / Double($1.periodSamples)) }
            let bytes = max(Int(footprint), 64 << 10)
            let bandwidth = measureReadBandwidth(bytes: bytes)
            groups.append((group, bytes, bandwidth))
            secondsPerSample += group.bytesPerSample / bandwidth
        }
        return (1 / max(secondsPerSample, 1e-15), groups)
    }

    /// Bytes per second for repeatedly summing a buffer of `bytes`, 8 lanes
    /// at a time with 4 independent sums (a read-only stream like a matvec's).
    private func measureReadBandwidth(bytes: Int) -> Double {
        let count = max(bytes / 4 / 32 * 32, 32)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        for i in 0..<count { buffer[i] = Float(i & 7) }
        let raw = UnsafeRawPointer(buffer)
        var best = 0.0
        var sink = SIMD8<Float>()
        let passes = max(3, 200_000_000 / (count * 4))
        for _ in 0..<5 {
            let start = now()
            for _ in 0..<passes {
                var a = SIMD8<Float>(), b = SIMD8<Float>(), c = SIMD8<Float>(), d = SIMD8<Float>()
                var offset = 0
                while offset < count * 4 {
                    a += raw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                    b += raw.loadUnaligned(fromByteOffset: offset + 32, as: SIMD8<Float>.self)
                    c += raw.loadUnaligned(fromByteOffset: offset + 64, as: SIMD8<Float>.self)
                    d += raw.loadUnaligned(fromByteOffset: offset + 96, as: SIMD8<Float>.self)
                    offset += 128
                }
                sink += a + b + c + d
            }
            best = max(best, Double(count * 4 * passes) / (now() - start))
        }
        if sink.sum() == .infinity { print("") }   // keeps the loads from being optimised away
        return best
    }

    private func cpuSummary() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }
}

/// Latency percentiles in microseconds.
struct LatencySummary {
    let p50, p90, p99, p999, max, mean: Double
    init(_ h: Histogram<UInt64>) {
        p50 = Double(h.valueAtPercentile(50)) / 1000
        p90 = Double(h.valueAtPercentile(90)) / 1000
        p99 = Double(h.valueAtPercentile(99)) / 1000
        p999 = Double(h.valueAtPercentile(99.9)) / 1000
        max = Double(h.max) / 1000
        mean = h.mean / 1000
    }
}

@inline(__always)
func argmax(_ logits: UnsafeBufferPointer<Float>) -> UInt8 {
    var best = 0
    for i in 1..<logits.count where logits[i] > logits[best] { best = i }
    return UInt8(best)
}

@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// A log-scale latency histogram as a self-contained SVG.
func writeHistogramSVG(_ h: Histogram<UInt64>, title: String, to path: String) throws {
    // Buckets: powers of 2^(1/4) microseconds between the min and max seen.
    let lo = max(Double(h.min) / 1000, 0.1), hi = max(Double(h.max) / 1000, lo * 2)
    let edges = stride(from: log2(lo), through: log2(hi) + 0.25, by: 0.25).map { pow(2, $0) }
    var counts = [UInt64](repeating: 0, count: edges.count)
    for bucket in h.recordedValues() {
        let us = Double(bucket.value) / 1000
        let index = min(max(Int(((log2(max(us, lo)) - log2(lo)) / 0.25).rounded(.down)), 0), counts.count - 1)
        counts[index] += UInt64(bucket.count)
    }
    let width = 720.0, height = 360.0, left = 60.0, bottom = 40.0, top = 40.0
    let plotW = width - left - 20, plotH = height - top - bottom
    let peak = Double(counts.max() ?? 1)
    let barW = plotW / Double(counts.count)
    var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="24" font-size="14">\(title.replacingOccurrences(of: "<", with: "&lt;")) (log count)</text>

        """
    for (i, c) in counts.enumerated() where c > 0 {
        let hBar = log10(Double(c) + 1) / log10(peak + 1) * plotH
        svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#3b6ea5\"/>\n",
                      left + Double(i) * barW, top + plotH - hBar, max(barW - 1, 1), hBar)
    }
    for i in stride(from: 0, to: counts.count, by: max(1, counts.count / 8)) {
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f</text>\n",
                      left + Double(i) * barW, height - bottom + 16, edges[i])
    }
    for p in [50.0, 99.0, 99.9] {
        let us = Double(h.valueAtPercentile(p)) / 1000
        let x = left + (log2(max(us, lo)) - log2(lo)) / 0.25 * barW
        svg += String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/>\n<text x=\"%.1f\" y=\"%.1f\" fill=\"#c0392b\">p%@ %.1f us</text>\n",
                      x, x, top, top + plotH, x + 3, top + 12 + (p == 50 ? 0 : p == 99 ? 14 : 28),
                      p == 99.9 ? "99.9" : String(Int(p)), us)
    }
    svg += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 6)\" text-anchor=\"middle\">per-sample latency (us, log scale)</text>\n</svg>\n"
    do {
        try svg.write(toFile: path, atomically: true, encoding: .utf8)
    } catch {
        throw CLIError.invalidInput("cannot write histogram '\(path)': \(error.localizedDescription)")
    }
}
