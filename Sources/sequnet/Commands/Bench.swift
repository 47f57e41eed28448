import ArgumentParser
import Foundation
import SequnetBench
import SequnetCheckpoint
import SequnetEngine

/// `sequnet bench`: per-sample speed and latency of the streaming engine,
/// measured against a bare-sgemv replay of the same layer schedule. The
/// measuring is `SequnetBench`'s; this file reads options and prints.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure generation speed and per-sample latency: one stream, or a batch of streams.",
        discussion: """
            Times every step of a stream fed its own samples (argmax), after a warm-up, \
            and in the same run replays the model's layer schedule as bare OpenBLAS sgemv \
            calls (the floor a per-layer engine has to beat). --arch builds random weights \
            of any size, e.g. the paper's models:
              \(ArchitectureSpec.paperSeqUNet)
              \(ArchitectureSpec.paperWaveNet)
            The bound is a cache model: the weights read every p samples are charged \
            at the read bandwidth this machine gives for everything touched between two \
            of their reads (measured with --threads threads reading at once, each its own \
            share), and the engine's speed is shown as a share of that bound.
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

    @Option(help: ArgumentHelp("Streams stepped together as one batch: each layer reads its weights once per tick for all of them.",
                               valueName: "S"))
    var streams: Int = 1

    @Option(help: ArgumentHelp("Independent batches measured at once, each on its own thread(s), sharing one set of weights.",
                               valueName: "K"))
    var independent: Int = 1

    @OptionGroup var threadOptions: ThreadOptions

    @OptionGroup var precisionOptions: PrecisionOptions

    @Flag(name: .customLong("allow-large-model"),
          help: "Measure a model over the default stream limits (see `sequnet help generate`), up to half the machine's memory.")
    var allowLargeModel = false

    @Option(name: .customLong("prompt-samples"),
            help: ArgumentHelp("Also time priming from a prompt of N samples: prompt samples/s and time to the first sample.",
                               valueName: "N"))
    var promptSamples: Int?

    @Flag(help: "Skip the sgemv replay.")
    var noReplay = false

    @Flag(name: .customLong("sgemm-peak"),
          help: "Also measure OpenBLAS sgemm on the same threads: the fp32 compute bound on all streams' samples/s.")
    var sgemmPeak = false

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
        // Each timed step keeps its time (8 bytes) for the buffer estimate.
        if let samples, !(1...100_000_000).contains(samples) {
            throw ValidationError("--samples must be 1...100000000, got \(samples)")
        }
        if let promptSamples, !(1...100_000_000).contains(promptSamples) {
            throw ValidationError("--prompt-samples must be 1...100000000, got \(promptSamples)")
        }
        guard (1...64).contains(repeats) else { throw ValidationError("--repeats must be 1...64, got \(repeats)") }
        guard (1...256).contains(streams) else { throw ValidationError("--streams must be 1...256, got \(streams)") }
        guard (1...64).contains(independent) else { throw ValidationError("--independent must be 1...64, got \(independent)") }
    }

    func run() throws {
        // The replay is a one-core, batch-1 measurement, like the engine's.
        setBLASThreads(1)
        let (model, label) = try loadModel()
        var options = BenchOptions()
        options.samples = samples
        options.repeats = repeats
        options.streams = streams
        options.independent = independent
        options.promptSamples = promptSamples
        options.threadsPerStream = threadOptions.threads
        options.replay = !noReplay
        options.kernels = kernels
        options.sgemmPeak = sgemmPeak
        let measurement = BenchRunner.run(model: model, label: label, options: options)
        let report = measurement.report

        if let histogram {
            let svg = latencyHistogramSVG(measurement.latencyHistogram, title: "\(label): per-sample latency")
            do {
                try writeFileAtomically(Array(svg.utf8), toPath: histogram)
            } catch {
                throw CLIError.invalidInput("cannot write histogram: \(error)")
            }
        }
        if json {
            print(try report.json())
        } else {
            printTable(report)
        }
    }

    private func loadModel() throws -> (Model, String) {
        if let arch {
            let model = try Model(randomWeightsFor: try ArchitectureSpec.parse(arch), seed: 1,
                                  precision: precisionOptions.matrixPrecision ?? .fp32)
            try checkStreamBudget(model, allowLarge: allowLargeModel, naming: "--arch \(arch)")
            return (model, arch + " (random weights)")
        }
        let loaded = try LoadedModel(path: try model ?? ModelLocator.defaultModelPath(),
                                     hyperparameters: layout.hyperparameters, precision: precisionOptions.matrixPrecision)
        try loaded.checkBudget(allowLarge: allowLargeModel)
        return (loaded.model, loaded.summary)
    }

    private func printTable(_ r: BenchReport) {
        let perStream = r.samplesPerSecondPerStream
        // "samples" for audio, "frames" or "tokens" for the symbolic models
        let steps = r.stepUnit + "s"
        let plural = { (n: Int, word: String) in "\(n) \(word)\(n == 1 ? "" : "s")" }
        var rows: [(String, String)] = [
            ("model", "\(r.model), \(grouped(r.parameters)) parameters"),
            ("setup", "\(r.precision) weights, \(r.kernelPath) kernels, \(r.independent > 1 ? "\(r.independent) independent batches of " : "")\(r.streams == 1 ? "1 stream" : "a batch of \(r.streams) streams") on \(plural(r.threads, "thread"))\(r.independent > 1 ? " each" : ""), \(grouped(r.samplesTimed)) \(steps) x \(r.repeats) repeats after \(grouped(r.warmupSamples)) warm-up, \(r.machine)"),
            ("speed", "\(grouped(Int(perStream))) \(steps)/s per stream"
                + (r.realTimeFactor.map { String(format: " (%.2fx real time at %d Hz)", $0, r.stepsPerSecondOfRealTime ?? 0) } ?? "")
                + (r.streams * r.independent > 1 ? ", \(grouped(Int(r.samplesPerSecond))) \(steps)/s in all" : "")),
        ]
        if let prompt = r.promptSamples, let rate = r.prefillSamplesPerSecond, let first = r.timeToFirstSampleMs {
            rows.append(("priming", String(format: "a %@-sample prompt: first sample after %.1f ms (%@ prompt samples/s)",
                                           grouped(prompt), first, grouped(Int(rate)))))
        }
        if let silence = r.silencePrimingMs, let copy = r.silenceCopyMs {
            rows.append(("from silence", String(format: "primed in %.1f ms the first time, %.2f ms when copied", silence, copy)))
        }
        if let gflops = r.sgemmGFLOPs, let bound = r.computeBoundSamplesPerSecond {
            rows.append(("compute bound", String(format: "sgemm %.1f GFLOP/s on %@ allows %@ \(steps)/s in all; the streams reach %.0f%%",
                                                 gflops, plural(r.threads * r.independent, "thread"), grouped(Int(bound)),
                                                 r.samplesPerSecond / bound * 100)))
        }
        if let replay = r.replaySamplesPerSecond, let ratio = r.engineOverReplay {
            rows.append(("sgemv replay", String(format: "%@ \(steps)/s (engine/replay %.2fx)", grouped(Int(replay)), ratio)))
        }
        let l = r.latency
        if r.stepsPerSecondOfRealTime != nil {
            rows.append(("min buffer", r.minBufferMs.map { String(format: "%.2f ms plays in real time without an underrun", $0) }
                ?? "none: slower than real time, so any buffer underruns eventually"))
        }
        rows += [
            ("latency (us)", String(format: "p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f", l.p50, l.p90, l.p99, l.p999, l.max)),
            ("stream state", humanBytes(Double(r.stateBytes)) + " per stream"),
            ("weights", String(format: "%@ in all, %@ read per \(r.stepUnit) (%.1f GB/s at this speed)",
                               humanBytes(Double(r.weightBytes)), humanBytes(r.weightBytesPerSample), r.weightBandwidthGBPerSecond)),
            ("multiply-adds", grouped(Int(r.multiplyAddsPerSample.rounded())) + " per \(r.stepUnit)"),
            ("bound", String(format: "reading %@ of weights per \(r.stepUnit), each group at the bandwidth measured for its reuse footprint (%.1f GB/s overall), allows %@ \(steps)/s; the engine reaches %.0f%%",
                             humanBytes(r.weightBytesPerSample), r.measuredReadBandwidthGBPerSecond,
                             grouped(Int(r.boundSamplesPerSecond)), perStream / r.boundSamplesPerSecond * 100)),
        ]
        rows += labelled("bandwidth by period", r.bandwidthByPeriod) { group in
            String(format: "every %5d \(steps): %@ read, reuse footprint %@, %.1f GB/s, %.0f%% of the bound's time",
                   group.periodSamples, humanBytes(group.bytes), humanBytes(Double(group.footprintBytes)),
                   group.readGBPerSecond, group.bytesPerSample / (group.readGBPerSecond * 1e9) * r.boundSamplesPerSecond * 100)
        }
        rows += labelled("step by top level", r.tickCosts) { cost in
            String(format: "level %2d ticks: %9.1f us mean over %@ steps", cost.level, cost.meanUs, grouped(cost.count))
        }
        rows += labelled("kernel by shape", r.kernels ?? []) { timing in
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
}
