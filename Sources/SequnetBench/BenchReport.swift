import Foundation
import SequnetEngine

/// What `sequnet bench` measured, typed. Its JSON keys are the ones
/// `bench --json` has always printed.
public struct BenchReport: Encodable, Sendable {
    /// Mean step time by the slowest level that ticked in the step.
    public struct TickCost: Encodable, Sendable {
        public let level: Int
        public let meanUs: Double
        public let count: Int
        enum CodingKeys: String, CodingKey { case level, meanUs = "mean_step_us", count = "steps" }
    }

    /// One clock period's share of the bandwidth bound.
    public struct PeriodBandwidth: Encodable, Sendable {
        public let periodSamples: Int
        public let bytes: Double
        public let bytesPerSample: Double
        public let footprintBytes: Int
        public let readGBPerSecond: Double
        enum CodingKeys: String, CodingKey {
            case periodSamples = "period_samples", bytesPerSample = "bytes_per_sample"
            case footprintBytes = "reuse_footprint_bytes", readGBPerSecond = "read_gb_per_s"
        }
    }

    public var model: String
    public var architecture: String
    public var parameters: Int
    public var precision: String
    /// Threads computing each stream's steps.
    public var threads: Int
    /// Streams stepped together as one batch.
    public var streams: Int
    /// Independent batches measured at once, each on its own thread(s).
    public var independent: Int
    /// The kernel build that ran ("avx2", "avx512").
    public var kernelPath: String
    public var samplesTimed: Int
    public var repeats: Int
    public var warmupSamples: Int
    /// Steps per second of real time (nil if the codec's steps are not timed).
    public var stepsPerSecondOfRealTime: Int?
    /// Steps per second per stream over real time's; null where steps are not timed.
    @NullWhenAbsent public var realTimeFactor: Double?
    /// All streams together, median repeat.
    public var samplesPerSecond: Double
    public var samplesPerSecondPerStream: Double
    public var latency: LatencySummary
    public var tickCosts: [TickCost]
    public var stateBytes: Int
    public var weightBytes: Int
    public var weightBytesPerSample: Double
    public var multiplyAddsPerSample: Double
    /// The smallest playback buffer that plays the measured run without an
    /// underrun; null when slower than real time.
    @NullWhenAbsent public var minBufferMs: Double?
    /// Weight bytes per second the engine pulls through at its speed.
    public var weightBandwidthGBPerSecond: Double
    /// The bound's effective read bandwidth over all groups.
    public var measuredReadBandwidthGBPerSecond: Double
    public var boundSamplesPerSecond: Double
    public var bandwidthByPeriod: [PeriodBandwidth]
    public var replaySamplesPerSecond: Double?
    public var engineOverReplay: Double?
    public var kernels: [KernelTiming]?
    /// `--prompt-samples`: the prompt length timed, the prompt steps primed
    /// per second, and the time from the start of priming to the first sample.
    public var promptSamples: Int?
    public var prefillSamplesPerSecond: Double?
    public var timeToFirstSampleMs: Double?
    /// Priming a batch from silence the first time (computed), and again (copied).
    public var silencePrimingMs: Double?
    public var silenceCopyMs: Double?
    /// `--sgemm-peak`: OpenBLAS sgemm GFLOP/s on the bench's threads, and the
    /// aggregate steps/s that many flops allow at two per multiply-add.
    public var sgemmGFLOPs: Double?
    public var computeBoundSamplesPerSecond: Double?
    /// "AMD EPYC ..., 2 cores".
    public var machine: String
    /// What a step is ("sample", "frame", "token"): the unit of every
    /// `samples_*` figure (the keys keep the audio name).
    public var stepUnit: String

    enum CodingKeys: String, CodingKey {
        case model, architecture, parameters, precision, threads, streams, independent, repeats, kernels, machine
        case stepUnit = "step_unit"
        case kernelPath = "kernel_path"
        case samplesTimed = "samples_timed"
        case samplesPerSecond = "samples_per_second"
        case samplesPerSecondPerStream = "samples_per_second_per_stream"
        case realTimeFactor = "real_time_factor"
        case latency = "latency_us"
        case tickCosts = "tick_cost_us"
        case stateBytes = "state_bytes"
        case weightBytes = "weight_bytes"
        case weightBytesPerSample = "weight_bytes_per_sample"
        case multiplyAddsPerSample = "multiply_adds_per_sample"
        case minBufferMs = "min_buffer_ms"
        case weightBandwidthGBPerSecond = "weight_bandwidth_gb_per_s"
        case measuredReadBandwidthGBPerSecond = "measured_read_bandwidth_gb_per_s"
        case boundSamplesPerSecond = "bandwidth_bound_samples_per_second"
        case bandwidthByPeriod = "bandwidth_by_period"
        case replaySamplesPerSecond = "replay_samples_per_second"
        case engineOverReplay = "engine_over_replay"
        case promptSamples = "prompt_samples", prefillSamplesPerSecond = "prefill_samples_per_second"
        case timeToFirstSampleMs = "time_to_first_sample_ms"
        case silencePrimingMs = "silence_priming_ms", silenceCopyMs = "silence_copy_ms"
        case sgemmGFLOPs = "sgemm_gflops", computeBoundSamplesPerSecond = "compute_bound_samples_per_second"
    }

    /// The report as one line of JSON, keys sorted.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// An optional that JSON shows as `null` rather than leaving out.
@propertyWrapper
public struct NullWhenAbsent<Value: Encodable & Sendable>: Encodable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}
