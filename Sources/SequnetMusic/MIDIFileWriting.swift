import SequnetAudio

extension MIDIFile {
    /// A Standard MIDI File (format 0, one track, 480 ticks per quarter note)
    /// playing `frames` on an acoustic grand piano (program 0, channel 0).
    ///
    /// The track holds a tempo event for `timing`, the program change, then
    /// the notes: a key sounding in consecutive frames is one held note (a
    /// roll cannot say that a key is struck again), starting at its first
    /// step and ending where it stops sounding. The End of Track event is at
    /// the end of the last step, so trailing silent steps are kept.
    ///
    /// - Precondition: 1 ≤ `velocity` ≤ 127.
    public static func encode(_ frames: [PianoRollFrame], timing: StepTiming, velocity: Int = 80) -> [UInt8] {
        precondition((1...127).contains(velocity), "velocity \(velocity) is not 1...127")
        var track: [UInt8] = []
        var lastTick = 0
        func event(at tick: Int, _ bytes: [UInt8]) {
            // A delta time holds 28 bits; a longer silence (over 559,000
            // steps at 480 ticks) is bridged with empty text events.
            while tick - lastTick > maxDeltaTicks {
                appendVariableLength(maxDeltaTicks, to: &track)
                track += [0xFF, 0x01, 0x00]
                lastTick += maxDeltaTicks
            }
            appendVariableLength(tick - lastTick, to: &track)
            track += bytes
            lastTick = tick
        }
        let tempo = timing.microsecondsPerQuarter
        event(at: 0, [0xFF, 0x51, 0x03, UInt8(tempo >> 16), UInt8((tempo >> 8) & 0xFF), UInt8(tempo & 0xFF)])
        event(at: 0, [0xC0, 0x00])

        var sounding = PianoRollFrame.silent
        for (step, frame) in frames.enumerated() {
            let tick = step * timing.ticksPerStep
            // Offs before ons, so nothing at one tick overlaps the next step.
            for note in sounding.subtracting(frame).notes { event(at: tick, [0x80, UInt8(note), 0x40]) }
            for note in frame.subtracting(sounding).notes { event(at: tick, [0x90, UInt8(note), UInt8(velocity)]) }
            sounding = frame
        }
        let end = frames.count * timing.ticksPerStep
        for note in sounding.notes { event(at: end, [0x80, UInt8(note), 0x40]) }
        event(at: end, [0xFF, 0x2F, 0x00])

        var file: [UInt8] = Array("MThd".utf8)
        appendBigEndian(6, bytes: 4, to: &file)
        appendBigEndian(0, bytes: 2, to: &file)                    // format 0
        appendBigEndian(1, bytes: 2, to: &file)                    // one track
        appendBigEndian(StepTiming.ticksPerQuarter, bytes: 2, to: &file)
        file += Array("MTrk".utf8)
        appendBigEndian(track.count, bytes: 4, to: &file)
        file += track
        return file
    }

    /// Writes `encode(frames, timing:, velocity:)` to `path`.
    ///
    /// - Throws: `AudioError.writeFailed` if the file cannot be written.
    public static func write(_ frames: [PianoRollFrame], timing: StepTiming, velocity: Int = 80,
                             toPath path: String) throws {
        let bytes = encode(frames, timing: timing, velocity: velocity)
        let output = try RawOutput.open(path: path)
        try bytes.withUnsafeBytes { try output.write($0) }
        try output.close()
    }

    /// A MIDI variable-length quantity: 7 bits a byte, most significant
    /// first, the high bit set on all but the last.
    static let maxDeltaTicks = 0x0FFF_FFFF

    static func appendVariableLength(_ value: Int, to bytes: inout [UInt8]) {
        precondition(value >= 0 && value <= maxDeltaTicks, "delta time \(value) does not fit a MIDI file")
        var groups: [UInt8] = [UInt8(value & 0x7F)]
        var rest = value >> 7
        while rest > 0 {
            groups.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        bytes += groups.reversed()
    }

    static func appendBigEndian(_ value: Int, bytes count: Int, to bytes: inout [UInt8]) {
        for shift in stride(from: 8 * (count - 1), through: 0, by: -8) { bytes.append(UInt8((value >> shift) & 0xFF)) }
    }
}
