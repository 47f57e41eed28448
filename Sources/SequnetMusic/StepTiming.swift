/// How long a piano-roll step lasts, in musical terms (a tempo and a number
/// of steps per quarter note) so that a MIDI file made from a roll shows
/// the right note values in a score editor.
///
/// The roll data sets have no tempo of their own; the rolls of
/// Boulanger-Lewandowski et al. are sampled at a fixed fraction of a beat,
/// so `StepTiming(beatsPerMinute: 120, stepsPerQuarter: 2)` (a step per
/// eighth note, 0.25 s) is a sensible way to listen to them.
public struct StepTiming: Equatable, Sendable, CustomStringConvertible {
    /// MIDI file resolution used when writing (ticks per quarter note).
    public static let ticksPerQuarter = 480

    /// The tempo as MIDI stores it: microseconds per quarter note, a 24-bit
    /// number (1 ... 16,777,215).
    public let microsecondsPerQuarter: Int
    /// Steps in one quarter note; a divisor of 480 so every step is a whole
    /// number of ticks (1, 2, 3, 4, 6, 8, 12, 16, 24, ...).
    public let stepsPerQuarter: Int

    /// A step of `1 / stepsPerQuarter` quarter notes at `beatsPerMinute`
    /// quarter notes per minute. The tempo is rounded to whole microseconds
    /// per quarter note, as a MIDI file stores it.
    ///
    /// - Precondition: `beatsPerMinute` gives 1 ... 16,777,215 µs per quarter
    ///   (about 3.6 ... 60,000,000 BPM); `stepsPerQuarter` divides 480.
    public init(beatsPerMinute: Double, stepsPerQuarter: Int = 1) {
        precondition(beatsPerMinute.isFinite && beatsPerMinute > 0, "tempo must be positive")
        self.init(microsecondsPerQuarter: Int((60_000_000 / beatsPerMinute).rounded()),
                  stepsPerQuarter: stepsPerQuarter)
    }

    /// A step of `secondsPerStep` seconds, written as one quarter note per
    /// step (rounded to whole microseconds).
    ///
    /// - Precondition: 0.000001 ≤ `secondsPerStep` ≤ 16.7.
    public init(secondsPerStep: Double) {
        precondition(secondsPerStep.isFinite && secondsPerStep > 0, "step must be positive")
        self.init(microsecondsPerQuarter: Int((secondsPerStep * 1_000_000).rounded()), stepsPerQuarter: 1)
    }

    /// The exact MIDI tempo and grid.
    ///
    /// - Precondition: 1 ≤ `microsecondsPerQuarter` ≤ 16,777,215 and
    ///   `stepsPerQuarter` divides 480.
    public init(microsecondsPerQuarter: Int, stepsPerQuarter: Int) {
        precondition((1...0xFF_FFFF).contains(microsecondsPerQuarter),
                     "tempo \(microsecondsPerQuarter) µs per quarter does not fit a MIDI tempo event")
        precondition(stepsPerQuarter > 0 && Self.ticksPerQuarter % stepsPerQuarter == 0,
                     "\(stepsPerQuarter) steps per quarter do not divide \(Self.ticksPerQuarter) ticks")
        self.microsecondsPerQuarter = microsecondsPerQuarter
        self.stepsPerQuarter = stepsPerQuarter
    }

    /// MIDI ticks in one step.
    public var ticksPerStep: Int { Self.ticksPerQuarter / stepsPerQuarter }

    /// Seconds in one step.
    public var secondsPerStep: Double { Double(microsecondsPerQuarter) / 1_000_000 / Double(stepsPerQuarter) }

    /// Quarter notes per minute.
    public var beatsPerMinute: Double { 60_000_000 / Double(microsecondsPerQuarter) }

    public var description: String {
        "\(stepsPerQuarter) step(s) per quarter at \(beatsPerMinute) BPM (\(secondsPerStep) s per step)"
    }
}
