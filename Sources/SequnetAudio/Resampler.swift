import CSampleRate

/// libsamplerate converter choices (band-limited sinc interpolation).
public enum ResampleQuality: Sendable {
    /// `SRC_SINC_BEST_QUALITY`: 97 dB SNR, slowest.
    case best
    /// `SRC_SINC_MEDIUM_QUALITY`: 97 dB SNR over a narrower band, several times faster.
    case medium

    var converter: Int32 {
        switch self {
        case .best: return Int32(SRC_SINC_BEST_QUALITY)
        case .medium: return Int32(SRC_SINC_MEDIUM_QUALITY)
        }
    }
}

/// Converts mono `samples` from `sourceRate` to `targetRate` with libsamplerate.
/// Equal rates return the input unchanged.
///
/// - Throws: `AudioError.resampleFailed` with libsamplerate's reason (for
///   example a ratio outside 1/256...256).
public func resample(_ samples: [Float], from sourceRate: Int, to targetRate: Int,
                     quality: ResampleQuality = .best) throws -> [Float] {
    guard sourceRate > 0, targetRate > 0 else {
        throw AudioError.resampleFailed("invalid rates \(sourceRate) Hz -> \(targetRate) Hz")
    }
    if sourceRate == targetRate || samples.isEmpty { return samples }
    let ratio = Double(targetRate) / Double(sourceRate)
    guard src_is_valid_ratio(ratio) != 0 else {
        throw AudioError.resampleFailed("ratio \(targetRate)/\(sourceRate) is outside what libsamplerate supports")
    }
    // A little headroom: libsamplerate may produce one frame more than the
    // rounded ideal length, and must never be told the buffer is full.
    let capacity = Int((Double(samples.count) * ratio).rounded(.up)) + 64
    var output = [Float](repeating: 0, count: capacity)
    var data = SRC_DATA()
    let status: Int32 = samples.withUnsafeBufferPointer { input in
        output.withUnsafeMutableBufferPointer { out in
            data.data_in = input.baseAddress
            data.input_frames = input.count
            data.data_out = out.baseAddress
            data.output_frames = out.count
            data.src_ratio = ratio
            data.end_of_input = 1
            return src_simple(&data, quality.converter, 1)
        }
    }
    guard status == 0 else { throw AudioError.resampleFailed(String(cString: src_strerror(status))) }
    output.removeSubrange(Int(data.output_frames_gen)...)
    return output
}

/// Reads any libsndfile-readable file as mono audio at `sampleRate` (the
/// models' 16 kHz): the common front end of prompts and scored recordings.
/// `shouldStop` is asked while reading (not during the one resampling call).
///
/// `keepingLast` keeps only the last that many samples at `sampleRate`: the
/// file is read keeping a bounded tail (those samples' span, plus a quarter
/// second for the resampling filter to settle, starting on a frame where the
/// two rates' sample grids meet), so memory stays bounded whatever the
/// file's length or rate.
public func readMonoAudio(atPath path: String, resampledTo sampleRate: Int, quality: ResampleQuality = .best,
                          shouldStop: () -> Bool = { false }, keepingLast: Int? = nil) throws -> MonoAudio {
    let tail = keepingLast.map { wanted in
        { (sourceRate: Int) -> Int in
            guard sourceRate != sampleRate else { return wanted }
            // A multiple of the frames per grid meeting point, so the resampled tail's samples fall
            // on the same instants as the whole file's would.
            let period = sourceRate / gcd(sourceRate, sampleRate)
            let span = Int((Double(wanted) * Double(sourceRate) / Double(sampleRate)).rounded(.up)) + sourceRate / 4
            return min((span + period - 1) / period * period, Int(Int32.max))
        }
    }
    let audio = try readMonoAudio(atPath: path, shouldStop: shouldStop, keepingLast: tail)
    if shouldStop() { throw AudioError.interrupted(path: path) }
    let samples: [Float]
    do {
        samples = try resample(audio.samples, from: audio.sampleRate, to: sampleRate, quality: quality)
    } catch AudioError.resampleFailed(let reason) {
        // Say which file: the reason alone ("ratio 16000/40 ...") leaves the user guessing.
        throw AudioError.resampleFailed("'\(path)' (\(audio.sampleRate) Hz): \(reason)")
    }
    let kept = keepingLast.map { Array(samples.suffix($0)) } ?? samples
    return MonoAudio(samples: kept, sampleRate: sampleRate, sourceChannels: audio.sourceChannels)
}

private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
