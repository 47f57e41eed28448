/// The 44-byte header of a 16-bit mono PCM WAV, written before any sample
/// is known. An endless stream has no size: its RIFF and data sizes are the
/// largest a WAV holds (players read until the connection ends).
enum WAVHeader {
    static let byteCount = 44

    /// The header for `samples` samples of 16-bit mono audio at `sampleRate`
    /// (nil: endless).
    static func bytes(samples: Int?, sampleRate: Int) -> [UInt8] {
        let maximum = UInt32.max - 1   // even: a RIFF chunk's size
        let dataBytes = samples.map { UInt32(clamping: 2 * $0) } ?? maximum - 36
        let riffBytes = samples == nil ? maximum : UInt32(clamping: 36 + UInt64(dataBytes))
        var out: [UInt8] = []
        out.reserveCapacity(byteCount)
        func tag(_ s: String) { out += Array(s.utf8) }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        tag("RIFF"); u32(riffBytes); tag("WAVE")
        tag("fmt "); u32(16)
        u16(1)                              // PCM
        u16(1)                              // mono
        u32(UInt32(sampleRate))
        u32(UInt32(sampleRate * 2))         // bytes per second
        u16(2)                              // bytes per frame
        u16(16)                             // bits per sample
        tag("data"); u32(dataBytes)
        return out
    }
}
