import CSndFile

/// Writes 16-bit PCM WAV files through libsndfile.
///
/// The header is rewritten after every `write` call
/// (`SFC_SET_UPDATE_HEADER_AUTO`), so the file on disk is a valid WAV whose
/// header matches its data even if the process is killed before `close()`.
/// `close()` (`sf_close`) is still the normal way to finish; it is idempotent
/// and also runs on deinit.
public final class WAVWriter {
    /// Where the file is written.
    public let path: String
    /// Frames per second in the header.
    public let sampleRate: Int
    /// Interleaved channels per frame.
    public let channels: Int
    /// Frames written so far.
    public private(set) var framesWritten = 0
    private var file: OpaquePointer?

    /// Creates (or truncates) `path` as a 16-bit PCM WAV file.
    ///
    /// - Throws: `AudioError.writeFailed` if libsndfile cannot create the file.
    public init(path: String, sampleRate: Int, channels: Int = 1) throws {
        self.path = path
        self.sampleRate = sampleRate
        self.channels = channels
        var info = SF_INFO()
        info.samplerate = Int32(clamping: sampleRate)
        info.channels = Int32(clamping: channels)
        info.format = Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
        guard sampleRate > 0, channels > 0, sf_format_check(&info) != 0 else {
            throw AudioError.writeFailed(path: path, reason: "invalid WAV layout (\(sampleRate) Hz, \(channels) channels)")
        }
        guard let handle = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw AudioError.writeFailed(path: path, reason: oneLine(String(cString: sf_strerror(nil))))
        }
        file = handle
        sf_command(handle, Int32(SFC_SET_UPDATE_HEADER_AUTO), nil, Int32(SF_TRUE))
    }

    deinit { if let file { sf_close(file) } }

    /// Appends interleaved frames (`samples.count` must be a multiple of `channels`).
    ///
    /// - Throws: `AudioError.writeFailed` on a short write (disk full, I/O
    ///   error) or after `close()`.
    public func write(_ samples: UnsafeBufferPointer<Int16>) throws {
        guard let file else { throw AudioError.writeFailed(path: path, reason: "file already closed") }
        let frames = samples.count / channels
        guard frames > 0 else { return }
        let written = Int(sf_writef_short(file, samples.baseAddress, sf_count_t(frames)))
        framesWritten += max(0, written)
        if written != frames {
            throw AudioError.writeFailed(path: path, reason: oneLine(String(cString: sf_strerror(file))))
        }
    }

    /// Appends interleaved frames from an array.
    public func write(_ samples: [Int16]) throws {
        try samples.withUnsafeBufferPointer { try write($0) }
    }

    /// Finalises the header and closes the file. Safe to call more than once.
    ///
    /// - Throws: `AudioError.writeFailed` if the final flush fails.
    public func close() throws {
        guard let handle = file else { return }
        file = nil
        let status = sf_close(handle)
        if status != 0 {
            throw AudioError.writeFailed(path: path, reason: oneLine(String(cString: sf_error_number(status))))
        }
    }
}

/// A sample in [-1, 1] as 16-bit PCM: scaled by 32767 (libsndfile's float to
/// short scale), rounded, clipped. Mu-law class 255 (1.0) becomes 32767.
@inline(__always)
public func pcm16(_ x: Float) -> Int16 {
    let scaled = (x * 32767).rounded()
    if scaled >= 32767 { return 32767 }
    if scaled <= -32768 { return -32768 }
    if scaled.isNaN { return 0 }
    return Int16(scaled)
}
