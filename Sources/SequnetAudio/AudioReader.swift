import CSndFile
import Foundation

/// A recording read into memory, mixed down to one channel.
public struct MonoAudio: Sendable {
    /// Samples in [-1, 1] (libsndfile's normalised float scale).
    public var samples: [Float]
    /// Frames per second of `samples`.
    public var sampleRate: Int
    /// Channels in the file before mixing.
    public var sourceChannels: Int

    public init(samples: [Float], sampleRate: Int, sourceChannels: Int = 1) {
        self.samples = samples
        self.sampleRate = sampleRate
        self.sourceChannels = sourceChannels
    }

    /// Duration in seconds.
    public var seconds: Double { sampleRate > 0 ? Double(samples.count) / Double(sampleRate) : 0 }
}

/// Reads any file libsndfile understands (WAV, FLAC, OGG/Vorbis, AIFF, ...)
/// and mixes it to mono by averaging the channels of each frame.
///
/// - Throws: `AudioError.cannotOpen` when the file is missing or not audio,
///   `.unsupportedLayout` for a zero rate or channel count, `.readFailed` when
///   decoding stops early, `.interrupted` when `shouldStop` (asked between
///   chunks of 8,192 frames) says to stop.
///
/// `keepingLast` (given the file's sample rate, a frame count) keeps only
/// the file's last frames: memory stays bounded whatever the file's length.
public func readMonoAudio(atPath path: String, shouldStop: () -> Bool = { false },
                          keepingLast: ((Int) -> Int)? = nil) throws -> MonoAudio {
    var info = SF_INFO()
    guard let file = sf_open(path, Int32(SFM_READ), &info) else {
        throw AudioError.cannotOpen(path: path, reason: oneLine(String(cString: sf_strerror(nil))))
    }
    defer { sf_close(file) }
    let channels = Int(info.channels)
    guard channels > 0 else { throw AudioError.unsupportedLayout(path: path, reason: "no channels") }
    guard info.samplerate > 0 else { throw AudioError.unsupportedLayout(path: path, reason: "sample rate \(info.samplerate)") }

    // `frames` can be a guess for some containers (or unknown for pipes), so
    // read in chunks until libsndfile says there is nothing left.
    var mono: [Float] = []
    let keep = keepingLast.map { max(1, $0(Int(info.samplerate))) }
    if keep == nil && info.frames > 0 && info.frames < Int64(Int32.max) { mono.reserveCapacity(Int(info.frames)) }
    let chunkFrames = 8192
    var chunk = [Float](repeating: 0, count: chunkFrames * channels)
    let scale = 1 / Float(channels)
    while true {
        if shouldStop() { throw AudioError.interrupted(path: path) }
        let got = chunk.withUnsafeMutableBufferPointer {
            Int(sf_readf_float(file, $0.baseAddress, sf_count_t(chunkFrames)))
        }
        if got <= 0 { break }
        if channels == 1 {
            mono.append(contentsOf: chunk[0..<got])
        } else {
            for frame in 0..<got {
                var sum: Float = 0
                for c in 0..<channels { sum += chunk[frame * channels + c] }
                mono.append(sum * scale)
            }
        }
        // Drop the front in large steps, so that each frame moves O(1) times.
        if let keep, mono.count >= 2 * keep + chunkFrames {
            mono.removeFirst(mono.count - keep)
        }
    }
    if let keep, mono.count > keep { mono.removeFirst(mono.count - keep) }

    let status = sf_error(file)
    if status != 0 {
        throw AudioError.readFailed(path: path, reason: oneLine(String(cString: sf_error_number(status))))
    }
    return MonoAudio(samples: mono, sampleRate: Int(info.samplerate), sourceChannels: channels)
}
