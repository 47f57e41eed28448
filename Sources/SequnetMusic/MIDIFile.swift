/// A note of a MIDI file, timed in seconds (tempo changes applied).
public struct MIDINote: Equatable, Sendable {
    /// MIDI note number, 0...127 (a piano has 21...108).
    public var note: Int
    /// MIDI channel, 0...15 as stored (never 9, the General MIDI drums).
    public var channel: Int
    /// Note-on velocity, 1...127.
    public var velocity: Int
    /// When the note starts, in seconds from the start of the file.
    public var onset: Double
    /// When it stops (its note-off, or the end of its track), after `onset`.
    public var offset: Double

    public init(note: Int, channel: Int, velocity: Int, onset: Double, offset: Double) {
        self.note = note
        self.channel = channel
        self.velocity = velocity
        self.onset = onset
        self.offset = offset
    }
}

/// A piano roll quantised from a MIDI file.
public struct QuantisedPianoRoll: Equatable, Sendable {
    /// One frame per step.
    public var frames: [PianoRollFrame]
    /// Notes left out because a piano does not have them (below 21 or above 108).
    public var notesOutsidePiano: Int
}

/// The notes of a Standard MIDI File (format 0 or 1), read defensively.
///
/// What is read: note-on and note-off on every channel except 10 (index 9,
/// General MIDI drums); a note-on with velocity 0 is a note-off; running
/// status; tempo events from any track, applied to all tracks (format 1
/// keeps them in the first); SMPTE time division. Everything else (other
/// channel messages, other meta events, sysex, unknown chunks) is skipped.
/// A key struck again while it sounds on the same channel ends the first
/// note there; a note never released ends with its track; notes of zero
/// length never sound and are dropped.
///
/// Every read is bounds-checked and the file size is capped, so a hostile or
/// truncated file gives `MusicError.malformedMIDI` naming the byte, never a
/// crash.
public struct MIDIFile: Sendable {
    /// The largest file read by default (real MIDI files are kilobytes).
    public static let defaultByteLimit = 16 << 20
    /// The most steps `pianoRoll` makes by default (over 69 hours at 0.25 s).
    public static let defaultStepLimit = 1_000_000

    /// The file (or name) the notes came from, for messages.
    public var name: String
    /// 0 (one track) or 1 (simultaneous tracks).
    public var format: Int
    /// Tracks the header declares (all were read).
    public var trackCount: Int
    /// The notes, by onset, then note number.
    public var notes: [MIDINote]
    /// Seconds to the last event of the longest track (its End of Track).
    public var duration: Double
    /// Notes on channel 10 (drums) that were left out.
    public var drumNotesSkipped: Int

    /// Notes from elsewhere (already in seconds), to quantise them with
    /// `pianoRoll`; `duration` defaults to the end of the last note.
    public init(notes: [MIDINote], duration: Double? = nil, name: String = "<notes>") {
        self.name = name
        format = 0
        trackCount = 1
        self.notes = notes.sorted { ($0.onset, $0.note, $0.channel) < ($1.onset, $1.note, $1.channel) }
        self.duration = duration ?? (notes.map(\.offset).max() ?? 0)
        drumNotesSkipped = 0
    }

    /// Reads the MIDI file at `path` ("-" is standard input).
    ///
    /// - Throws: `MusicError.cannotRead` / `.tooLarge` for the file,
    ///   `.malformedMIDI` naming the first bad byte, `.unsupportedMIDI` for
    ///   format 2.
    public init(contentsOfFile path: String, byteLimit: Int = defaultByteLimit) throws {
        try self.init(bytes: try readFileBytes(atPath: path, limit: byteLimit), name: path)
    }

    /// Reads a MIDI file held in memory; `name` is used in errors.
    ///
    /// - Throws: `MusicError.malformedMIDI` / `.unsupportedMIDI`.
    public init(bytes: [UInt8], name: String = "<bytes>") throws {
        self.name = name
        var reader = MIDIByteReader(bytes: bytes, name: name)
        guard bytes.count >= 4, bytes[0..<4].elementsEqual("MThd".utf8) else {
            throw MusicError.malformedMIDI(path: name, offset: 0, reason: "not a Standard MIDI File (no 'MThd' header)")
        }
        reader.offset = 4
        let headerLength = try reader.uInt32()
        guard headerLength >= 6 else { throw reader.error("header of \(headerLength) bytes, 6 expected", at: 4) }
        let headerEnd = try reader.end(ofChunkOf: headerLength, startingAt: 8)
        format = try reader.uInt16()
        trackCount = try reader.uInt16()
        let division = try reader.uInt16()
        reader.offset = headerEnd
        guard format <= 1 else {
            if format == 2 {
                throw MusicError.unsupportedMIDI(path: name, reason: "format 2 (independent sequences) is not read")
            }
            throw MusicError.unsupportedMIDI(path: name, reason: "unknown format \(format)")
        }
        let clock = try MIDIClock(division: division, reader: reader)

        var events: [MIDINoteEvent] = []
        var tempoChanges: [MIDITempoChange] = []
        var trackEnds: [Int] = []
        while trackEnds.count < trackCount {
            guard reader.remaining >= 8 else {
                throw reader.error("truncated: \(trackEnds.count) of \(trackCount) tracks found")
            }
            let chunkStart = reader.offset
            let isTrack = reader.bytes[chunkStart..<chunkStart + 4].elementsEqual("MTrk".utf8)
            reader.offset += 4
            let length = try reader.uInt32()
            let end = try reader.end(ofChunkOf: length, startingAt: chunkStart + 8)
            if isTrack {
                let endTick = try reader.readTrack(until: end, index: trackEnds.count,
                                                   events: &events, tempoChanges: &tempoChanges)
                trackEnds.append(endTick)
            }
            // Chunks of other types are skipped, as the standard asks.
            reader.offset = end
        }

        let timeline = MIDITimeline(clock: clock, tempoChanges: tempoChanges)
        (notes, drumNotesSkipped) = Self.pairNotes(events, trackEnds: trackEnds, timeline: timeline)
        duration = max(trackEnds.map(timeline.seconds(atTick:)).max() ?? 0, notes.map(\.offset).max() ?? 0)
    }

    /// Turns note-on/off events into notes, in file order (by tick, then
    /// track, then position in the track).
    private static func pairNotes(_ events: [MIDINoteEvent], trackEnds: [Int],
                                  timeline: MIDITimeline) -> ([MIDINote], Int) {
        let ordered = events.sorted { ($0.tick, $0.track, $0.sequence) < ($1.tick, $1.track, $1.sequence) }
        var notes: [MIDINote] = []
        var drumNotes = 0
        // Per channel and key: the sounding note's onset, velocity and track.
        var open = [(onset: Double, velocity: Int, track: Int)?](repeating: nil, count: 16 * 128)
        func close(_ slot: Int, at time: Double) {
            guard let started = open[slot] else { return }
            open[slot] = nil
            if time > started.onset {
                notes.append(MIDINote(note: slot % 128, channel: slot / 128, velocity: started.velocity,
                                      onset: started.onset, offset: time))
            }
        }
        for event in ordered {
            if event.channel == 9 {
                if event.velocity > 0 { drumNotes += 1 }
                continue
            }
            let slot = event.channel * 128 + event.note
            let time = timeline.seconds(atTick: event.tick)
            close(slot, at: time)
            if event.velocity > 0 { open[slot] = (time, event.velocity, event.track) }
        }
        for slot in open.indices {
            if let started = open[slot] { close(slot, at: timeline.seconds(atTick: trackEnds[started.track])) }
        }
        notes.sort { ($0.onset, $0.note, $0.channel) < ($1.onset, $1.note, $1.channel) }
        return (notes, drumNotes)
    }

    /// The notes on a grid of `secondsPerStep`: step i is the interval
    /// [i, i + 1) × `secondsPerStep`, and a note sounds in every step it
    /// covers for at least half a step. A note shorter than that everywhere
    /// sounds in the step of its onset, so short notes are not lost. There
    /// are enough steps for every note and for `duration` (rounded), so a
    /// file made by `encode` reads back to the same frames.
    ///
    /// - Precondition: `secondsPerStep` is positive and finite.
    /// - Throws: `MusicError.tooManySteps` when the roll would be longer
    ///   than `stepLimit` steps.
    public func pianoRoll(secondsPerStep: Double, stepLimit: Int = defaultStepLimit) throws -> QuantisedPianoRoll {
        precondition(secondsPerStep.isFinite && secondsPerStep > 0, "step must be positive")
        let step = secondsPerStep
        // Tick-to-second conversions differ from multiples of `step` only by
        // rounding; this slack keeps exact half-step overlaps in.
        let slack = step * 1e-6
        var stepCount = (duration / step).rounded()
        var onPiano: [(first: Int, last: Int, note: Int)] = []
        var outside = 0
        for note in notes {
            guard PianoRollFrame.isPianoNote(note.note) else { outside += 1; continue }
            let onsetStep = (note.onset / step).rounded(.down)
            let lastStepTouched = (note.offset / step).rounded(.up) - 1
            guard lastStepTouched < Double(stepLimit) else {
                throw MusicError.tooManySteps(path: name, steps: Self.clampedInt(lastStepTouched + 1), limit: stepLimit)
            }
            var first = Int(onsetStep), last = Int(max(onsetStep, lastStepTouched))
            func overlap(_ i: Int) -> Double {
                min(note.offset, Double(i + 1) * step) - max(note.onset, Double(i) * step)
            }
            // Only the first and last steps can be partly covered.
            if first < last && overlap(first) < step / 2 - slack { first += 1 }
            if last > first && overlap(last) < step / 2 - slack { last -= 1 }
            if first == last && overlap(first) < step / 2 - slack {
                first = Int(onsetStep)
                last = first
            }
            onPiano.append((first, last, note.note))
            stepCount = max(stepCount, Double(last + 1))
        }
        guard stepCount <= Double(stepLimit) else {
            throw MusicError.tooManySteps(path: name, steps: Self.clampedInt(stepCount), limit: stepLimit)
        }
        var frames = [PianoRollFrame](repeating: .silent, count: Int(stepCount))
        for note in onPiano {
            for i in note.first...note.last { frames[i].insert(note.note) }
        }
        return QuantisedPianoRoll(frames: frames, notesOutsidePiano: outside)
    }

    private static func clampedInt(_ value: Double) -> Int {
        value < Double(Int.max / 2) ? Int(value) : Int.max / 2
    }
}

// MARK: - Reading bytes

/// A note-on or note-off at a tick; velocity 0 is a note-off.
struct MIDINoteEvent {
    var tick: Int
    var track: Int
    var sequence: Int
    var channel: Int
    var note: Int
    var velocity: Int
}

struct MIDITempoChange {
    var tick: Int
    var track: Int
    var sequence: Int
    var microsecondsPerQuarter: Int
}

/// How ticks become seconds: by quarter notes at a tempo, or SMPTE frames.
enum MIDIClock {
    case ticksPerQuarter(Int)
    case secondsPerTick(Double)

    init(division: Int, reader: MIDIByteReader) throws {
        if division & 0x8000 == 0 {
            guard division > 0 else { throw reader.error("time division of 0 ticks per quarter note", at: 12) }
            self = .ticksPerQuarter(division)
        } else {
            // High byte: minus the SMPTE frame rate; low byte: ticks a frame.
            let framesPerSecond: Double
            switch 256 - (division >> 8) {
            case 24: framesPerSecond = 24
            case 25: framesPerSecond = 25
            case 29: framesPerSecond = 30_000.0 / 1001
            case 30: framesPerSecond = 30
            case let other: throw reader.error("SMPTE rate of \(other) frames per second", at: 12)
            }
            let ticksPerFrame = division & 0xFF
            guard ticksPerFrame > 0 else { throw reader.error("SMPTE time division of 0 ticks per frame", at: 12) }
            self = .secondsPerTick(1 / (framesPerSecond * Double(ticksPerFrame)))
        }
    }
}

/// Tick to seconds through the tempo changes (120 BPM until the first).
struct MIDITimeline {
    private var clock: MIDIClock
    // Tempo segments: the tick each starts at, the seconds there, and its
    // seconds per tick.
    private var startTicks: [Int] = [0]
    private var startSeconds: [Double] = [0]
    private var secondsPerTick: [Double]

    init(clock: MIDIClock, tempoChanges: [MIDITempoChange]) {
        self.clock = clock
        switch clock {
        case .secondsPerTick(let perTick):
            secondsPerTick = [perTick]
        case .ticksPerQuarter(let ticksPerQuarter):
            let perQuarter = { (microseconds: Int) in Double(microseconds) / 1_000_000 / Double(ticksPerQuarter) }
            secondsPerTick = [perQuarter(500_000)]
            let ordered = tempoChanges.sorted { ($0.tick, $0.track, $0.sequence) < ($1.tick, $1.track, $1.sequence) }
            for change in ordered {
                let last = startTicks.count - 1
                if change.tick == startTicks[last] {
                    secondsPerTick[last] = perQuarter(change.microsecondsPerQuarter)
                } else {
                    startSeconds.append(startSeconds[last] + Double(change.tick - startTicks[last]) * secondsPerTick[last])
                    startTicks.append(change.tick)
                    secondsPerTick.append(perQuarter(change.microsecondsPerQuarter))
                }
            }
        }
    }

    func seconds(atTick tick: Int) -> Double {
        // The last segment starting at or before `tick` (binary search).
        var low = 0, high = startTicks.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if startTicks[middle] <= tick { low = middle } else { high = middle - 1 }
        }
        return startSeconds[low] + Double(tick - startTicks[low]) * secondsPerTick[low]
    }
}

/// Bounds-checked big-endian reads over a MIDI file; every failure is a
/// `MusicError.malformedMIDI` naming the byte offset.
struct MIDIByteReader {
    let bytes: [UInt8]
    let name: String
    var offset = 0

    init(bytes: [UInt8], name: String) {
        self.bytes = bytes
        self.name = name
    }

    /// `0x` and two hex digits, for messages.
    func hexByte(_ value: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "0x" + (digits.count < 2 ? "0" : "") + digits
    }

    var remaining: Int { bytes.count - offset }

    func error(_ reason: String, at position: Int? = nil) -> MusicError {
        .malformedMIDI(path: name, offset: position ?? offset, reason: reason)
    }

    /// Where a chunk whose data starts at `start` ends, if it fits the file.
    func end(ofChunkOf length: Int, startingAt start: Int) throws -> Int {
        guard length <= bytes.count - start else {
            throw error("chunk of \(length) bytes runs past the end of the file (\(bytes.count - start) left)", at: start - 4)
        }
        return start + length
    }

    mutating func byte(before end: Int) throws -> Int {
        guard offset < end else { throw error("truncated event (the track ends inside it)") }
        defer { offset += 1 }
        return Int(bytes[offset])
    }

    mutating func uInt16() throws -> Int {
        guard remaining >= 2 else { throw error("truncated header") }
        defer { offset += 2 }
        return Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
    }

    mutating func uInt32() throws -> Int {
        guard remaining >= 4 else { throw error("truncated chunk header") }
        defer { offset += 4 }
        return (0..<4).reduce(0) { $0 << 8 | Int(bytes[offset + $1]) }
    }

    /// A variable-length quantity of at most four bytes (28 bits).
    mutating func variableLength(before end: Int) throws -> Int {
        let start = offset
        var value = 0
        for _ in 0..<4 {
            let byte = try self.byte(before: end)
            value = value << 7 | (byte & 0x7F)
            if byte & 0x80 == 0 { return value }
        }
        throw error("variable-length number longer than 4 bytes", at: start)
    }

    /// A data byte of a channel message (high bit clear).
    mutating func dataByte(before end: Int) throws -> Int {
        let value = try byte(before: end)
        guard value < 0x80 else { throw error("status byte \(hexByte(value)) where a data byte was expected", at: offset - 1) }
        return value
    }

    /// Reads one MTrk chunk's events up to `end`, appending its note events
    /// and tempo changes. Returns the tick of its last event (End of Track).
    mutating func readTrack(until end: Int, index track: Int, events: inout [MIDINoteEvent],
                            tempoChanges: inout [MIDITempoChange]) throws -> Int {
        var tick = 0
        var runningStatus: Int? = nil
        var sequence = 0
        while offset < end {
            tick += try variableLength(before: end)
            sequence += 1
            let statusOffset = offset
            var status = try byte(before: end)
            if status < 0x80 {
                // Running status: the byte is the first data byte.
                guard let running = runningStatus else {
                    throw error("data byte \(hexByte(status)) with no running status", at: statusOffset)
                }
                status = running
                offset -= 1
            }
            switch status {
            case 0x80...0xEF:
                runningStatus = status
                let channel = status & 0x0F
                let first = try dataByte(before: end)
                let kind = status & 0xF0
                // Program change and channel pressure have one data byte.
                let second = kind == 0xC0 || kind == 0xD0 ? 0 : try dataByte(before: end)
                if kind == 0x90 || kind == 0x80 {
                    events.append(MIDINoteEvent(tick: tick, track: track, sequence: sequence, channel: channel,
                                                note: first, velocity: kind == 0x90 ? second : 0))
                }
            case 0xFF:
                // Meta and sysex events leave running status as it was: the
                // standard says they cancel it, but files in the wild rely on
                // it surviving, and reading it is never ambiguous.
                let type = try byte(before: end)
                let length = try variableLength(before: end)
                guard length <= end - offset else { throw error("meta event of \(length) bytes runs past its track", at: statusOffset) }
                if type == 0x51 && length >= 3 {
                    let tempo = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
                    // A zero tempo would stop time; such an event is ignored.
                    if tempo > 0 {
                        tempoChanges.append(MIDITempoChange(tick: tick, track: track, sequence: sequence,
                                                            microsecondsPerQuarter: tempo))
                    }
                }
                offset += length
                if type == 0x2F { return tick }   // End of Track: any bytes after it are ignored.
            case 0xF0, 0xF7:
                let length = try variableLength(before: end)
                guard length <= end - offset else { throw error("sysex of \(length) bytes runs past its track", at: statusOffset) }
                offset += length
            default:
                throw error("unexpected status byte \(hexByte(status))", at: statusOffset)
            }
        }
        // No End of Track event: the track ends with its last event.
        return tick
    }
}
