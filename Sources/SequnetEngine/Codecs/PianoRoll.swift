import Foundation

/// An 88-key piano roll, one multi-hot frame per step: the codec of the
/// paper's polyphonic-music models (JSB Chorales, Nottingham). Key k is MIDI
/// note 21 + k (A0 ... C8), the columns of the data sets' `.mat` rolls. Each
/// frame's 88 outputs are independent sigmoid logits (see `BernoulliSampler`).
public struct PianoRoll: Codec {
    /// Keys of a piano, and of every frame.
    public static let keys = 88
    /// MIDI note of key 0 (A0).
    public static let lowestMIDINote = 21

    public init() {}

    public var description: String { "\(Self.keys)-key piano roll" }
    public var input: NetworkInput { .multiHot(keys: Self.keys) }
    public var output: NetworkOutput { .independentSigmoids(keys: Self.keys) }
    /// A short prompt is fed as it is: the models' pre-roll is whole zero
    /// frames, which a multi-hot step (not a single index) feeds.
    public var paddingInput: Int? { nil }
    /// A frame or token is not a fixed span of time.
    public var stepName: String { "frame" }
    public var stepsPerSecond: Int? { nil }

    /// The key of a MIDI note, if a piano has it.
    public static func key(ofMIDINote note: Int) -> Int? {
        let key = note - lowestMIDINote
        return (0..<keys).contains(key) ? key : nil
    }

    /// The MIDI note of key `key` (0..<88).
    public static func midiNote(ofKey key: Int) -> Int { lowestMIDINote + key }

    /// The frame sounding `notes` (MIDI numbers) as 88 zeros and ones; notes
    /// a piano does not have are returned in `outside`.
    public static func frame(sounding notes: [Int]) -> (frame: [Float], outside: [Int]) {
        var frame = [Float](repeating: 0, count: keys)
        var outside: [Int] = []
        for note in notes {
            if let key = key(ofMIDINote: note) { frame[key] = 1 } else { outside.append(note) }
        }
        return (frame, outside)
    }

    /// The MIDI notes a frame sounds (keys above one half), lowest first.
    public static func notes(in frame: [Float]) -> [Int] {
        frame.prefix(keys).enumerated().filter { $0.element > 0.5 }.map { midiNote(ofKey: $0.offset) }
    }
}

extension PianoRoll {
    /// The reference's loss for one frame, in nats: for each key,
    /// `max(z,0) - z*y + log(1 + exp(-|z|))` (BCE with logits, the stable
    /// form), summed over keys. Computed in double.
    public static func negativeLogLikelihood(logits: UnsafeBufferPointer<Float>, target: UnsafeBufferPointer<Float>) -> Double {
        var total = 0.0
        for k in 0..<min(logits.count, target.count) {
            let z = Double(logits[k]), y = Double(target[k])
            total += max(z, 0) - z * y + log1p(exp(-abs(z)))
        }
        return total
    }
}
