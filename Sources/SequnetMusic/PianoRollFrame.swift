/// One time step of an 88-key piano roll: the set of keys sounding.
///
/// Notes are MIDI note numbers, 21 (A0) to 108 (C8); key k of the models'
/// 88-wide multi-hot vectors is MIDI note 21 + k, as in the engine's
/// `PianoRoll` codec and the data sets' `.mat` rolls. The set is stored as
/// an 88-bit mask, so frames are small values that compare and hash cheaply
/// (a sequence is `[PianoRollFrame]`, a data set `[[PianoRollFrame]]`).
public struct PianoRollFrame: Hashable, Sendable, CustomStringConvertible {
    /// Keys on a piano.
    public static let keyCount = 88
    /// MIDI note of the lowest key (A0).
    public static let lowestNote = 21
    /// MIDI note of the highest key (C8).
    public static let highestNote = 108
    /// The frame where nothing sounds.
    public static let silent = PianoRollFrame()

    // Bit k of the 128-bit pair is key k (note 21 + k); bits 88... stay zero.
    private var low: UInt64 = 0
    private var high: UInt64 = 0

    /// A silent frame.
    public init() {}

    /// The frame sounding `notes` (MIDI numbers; duplicates are harmless).
    ///
    /// - Precondition: every note is in 21...108 (check with `isPianoNote`).
    public init<Notes: Sequence>(notes: Notes) where Notes.Element == Int {
        for note in notes { insert(note) }
    }

    /// The frame of an 88-wide multi-hot vector (key k = note 21 + k): keys
    /// whose value is above one half sound. Values past the 88th are ignored.
    public init<Values: Collection>(multiHot values: Values) where Values.Element == Float {
        for (key, value) in values.prefix(Self.keyCount).enumerated() where value > 0.5 {
            insert(Self.lowestNote + key)
        }
    }

    /// Whether a piano has MIDI note `note`.
    public static func isPianoNote(_ note: Int) -> Bool { (lowestNote...highestNote).contains(note) }

    /// Whether `note` sounds (false for notes a piano does not have).
    public func contains(_ note: Int) -> Bool {
        guard Self.isPianoNote(note) else { return false }
        let key = note - Self.lowestNote
        return key < 64 ? low & (1 << UInt64(key)) != 0 : high & (1 << UInt64(key - 64)) != 0
    }

    /// Makes `note` sound.
    ///
    /// - Precondition: `note` is in 21...108.
    public mutating func insert(_ note: Int) {
        precondition(Self.isPianoNote(note), "MIDI note \(note) is not on a piano")
        let key = note - Self.lowestNote
        if key < 64 { low |= 1 << UInt64(key) } else { high |= 1 << UInt64(key - 64) }
    }

    /// Silences `note` (nothing happens for notes a piano does not have).
    public mutating func remove(_ note: Int) {
        guard Self.isPianoNote(note) else { return }
        let key = note - Self.lowestNote
        if key < 64 { low &= ~(1 << UInt64(key)) } else { high &= ~(1 << UInt64(key - 64)) }
    }

    /// Whether no key sounds.
    public var isSilent: Bool { low == 0 && high == 0 }

    /// How many keys sound.
    public var count: Int { low.nonzeroBitCount + high.nonzeroBitCount }

    /// The sounding notes, lowest first.
    public var notes: [Int] {
        var result: [Int] = []
        result.reserveCapacity(count)
        var bits = low
        while bits != 0 {
            result.append(Self.lowestNote + bits.trailingZeroBitCount)
            bits &= bits - 1
        }
        bits = high
        while bits != 0 {
            result.append(Self.lowestNote + 64 + bits.trailingZeroBitCount)
            bits &= bits - 1
        }
        return result
    }

    /// The frame as 88 zeros and ones (key k = note 21 + k), the models' input.
    public var multiHot: [Float] {
        var values = [Float](repeating: 0, count: Self.keyCount)
        for note in notes { values[note - Self.lowestNote] = 1 }
        return values
    }

    /// Notes sounding in either frame.
    public func union(_ other: PianoRollFrame) -> PianoRollFrame {
        var result = self
        result.low |= other.low
        result.high |= other.high
        return result
    }

    /// Notes sounding here but not in `other`.
    public func subtracting(_ other: PianoRollFrame) -> PianoRollFrame {
        var result = self
        result.low &= ~other.low
        result.high &= ~other.high
        return result
    }

    /// The frame's line in the piano-roll text format: the notes, lowest
    /// first, separated by single spaces; empty when silent.
    public var description: String { notes.map(String.init).joined(separator: " ") }
}
