import SequnetAudio
import SequnetEngine

/// Where generated 16-bit samples go: a WAV file or raw s16le on a descriptor.
protocol SampleSink: AnyObject {
    /// Appends samples. Throws `AudioError` (including `.outputClosed`).
    func write(_ samples: UnsafeBufferPointer<Int16>) throws
    /// Finalises the output (WAV header, close).
    func finish() throws
    /// What to call the output in messages.
    var displayName: String { get }
}

final class WAVSink: SampleSink {
    let writer: WAVWriter
    init(path: String, sampleRate: Int) throws { writer = try WAVWriter(path: path, sampleRate: sampleRate) }
    func write(_ samples: UnsafeBufferPointer<Int16>) throws { try writer.write(samples) }
    func finish() throws { try writer.close() }
    var displayName: String { writer.path }
}

final class RawSink: SampleSink {
    let output: RawOutput
    init(_ output: RawOutput) { self.output = output }
    func write(_ samples: UnsafeBufferPointer<Int16>) throws { try output.write(samples: samples) }
    func finish() throws { try output.close() }
    var displayName: String { output.name }
}

/// `-o PATH` for audio: "-" is raw s16le on stdout, anything else a WAV file.
func openSampleSink(_ path: String, sampleRate: Int) throws -> SampleSink {
    path == "-" ? RawSink(.standardOutput()) : try WAVSink(path: path, sampleRate: sampleRate)
}

/// Decoded mu-law as 16-bit PCM, one entry per class.
let pcmOfClass: [Int16] = (0..<MuLawAudio.classes).map { pcm16(MuLawAudio.decode(UInt8($0))) }

/// Writes classes as decoded mu-law PCM (used for the prompt, which the
/// output repeats in front of the continuation, as the reference does).
func writeClasses(_ classes: [Int], to sink: SampleSink, chunk: Int = 4096) throws {
    var pcm = [Int16](repeating: 0, count: chunk)
    var start = 0
    while start < classes.count {
        let n = min(chunk, classes.count - start)
        for i in 0..<n { pcm[i] = pcmOfClass[Int(classes[start + i])] }
        try pcm.withUnsafeBufferPointer { try sink.write(UnsafeBufferPointer(rebasing: $0[0..<n])) }
        start += n
    }
}

/// How a generation run ended.
struct GenerationResult {
    /// Samples generated and written.
    var generated: Int
    /// Whether SIGINT/SIGTERM stopped it early.
    var interrupted: Bool
    /// Wall time of the sampling loop (after priming).
    var seconds: Double

    var samplesPerSecond: Double { seconds > 0 ? Double(generated) / seconds : 0 }
}

/// The autoregressive loop over a batch: each stream samples from its own
/// logits with its own sampler, emits to its own sink, and the batch steps
/// on all the samples at once. Writes in chunks of `chunk` samples (the
/// latency of a stream, the granularity of interruption). `count` nil runs
/// until interrupted or an output closes.
func generate(batch: StreamBatch, samplers: [CategoricalSampler], count: Int?, chunk: Int,
              to sinks: [SampleSink], progress: inout ProgressLine) throws -> GenerationResult {
    let streams = batch.count
    precondition(samplers.count == streams && sinks.count == streams)
    var pcm = [[Int16]](repeating: [Int16](repeating: 0, count: chunk), count: streams)
    var next = [Int](repeating: 0, count: streams)
    var done = 0
    var interrupted = false
    let start = now()
    while count.map({ done < $0 }) ?? true {
        if Interrupt.requested { interrupted = true; break }
        let n = count.map { min(chunk, $0 - done) } ?? chunk
        // The very last sample needs no step: nothing will read its logits.
        let isLastChunk = count.map { done + n == $0 } ?? false
        // Every sample's logits are checked before sampling: a NaN would be
        // sampled as some class and go unnoticed as plausible noise.
        var produced = n
        chunkLoop: for i in 0..<n {
            for b in 0..<streams {
                let logits = batch.logits(b)
                guard allFinite(logits) else { produced = i; break chunkLoop }
                next[b] = samplers[b].sample(logits)
                pcm[b][i] = pcmOfClass[next[b]]
            }
            if !(isLastChunk && i == n - 1) { batch.step(next) }
        }
        // Whatever was sampled from good logits is kept, even on the way out.
        for b in 0..<streams {
            try pcm[b].withUnsafeBufferPointer { try sinks[b].write(UnsafeBufferPointer(rebasing: $0[0..<produced])) }
        }
        done += produced
        guard produced == n else {
            progress.finish(done: done)
            throw CLIError.nonFiniteLogits(sample: done)
        }
        progress.update(done: done)
    }
    progress.finish(done: done)
    return GenerationResult(generated: done, interrupted: interrupted, seconds: now() - start)
}

/// "first sample after 12.3 ms (priming 10,237 steps, 832,000 steps/s)":
/// the time from the start of priming to the first sample's distribution.
func firstSampleLine(seconds: Double, primedSteps: Int) -> String {
    String(format: "first sample after %.1f ms (priming %@ steps, %@ steps/s)",
           seconds * 1000, grouped(primedSteps), grouped(Int(Double(primedSteps) / max(seconds, 1e-9))))
}

/// Reads an audio prompt as mu-law classes at the codec's rate, only its
/// last `keepingLast` samples (what the model hears: its input size), so a
/// prompt hours long costs no more memory than a short one. A prompt
/// without a single sample is refused (as `score` refuses an empty
/// recording), rather than taken silently as no prompt.
func promptClasses(fromAudio path: String, keepingLast: Int) throws -> [Int] {
    let audio = try readMonoAudio(atPath: path, resampledTo: MuLawAudio.sampleRate, shouldStop: { Interrupt.requested },
                                  keepingLast: keepingLast)
    guard !audio.samples.isEmpty else {
        throw CLIError.invalidInput("prompt '\(path)' holds no audio (0 samples); leave out --prompt to start from silence")
    }
    return audio.samples.map { Int(MuLawAudio.encode($0)) }
}
