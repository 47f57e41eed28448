/// Why piano-roll text, a MIDI file or a rendering could not be read or made.
/// Each case renders as one line that names the file (and line or byte) at
/// fault, so a command can print it as it is.
public enum MusicError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or read (missing, a directory, I/O error).
    case cannotRead(path: String, reason: String)
    /// The file is larger than the reader accepts.
    case tooLarge(path: String, bytes: Int, limit: Int)
    /// A piano-roll text line holds something that is not a MIDI note number.
    case notANote(source: String, line: Int, token: String)
    /// A piano-roll text line holds a note the piano does not have.
    case noteOutsidePiano(source: String, line: Int, token: String)
    /// A MIDI file is malformed or truncated at byte `offset`.
    case malformedMIDI(path: String, offset: Int, reason: String)
    /// A well-formed MIDI file that this reader does not handle (format 2).
    case unsupportedMIDI(path: String, reason: String)
    /// Quantising would make more steps than the caller allowed.
    case tooManySteps(path: String, steps: Int, limit: Int)
    /// The soundfont file is not there.
    case soundFontMissing(path: String)
    /// FluidSynth refused to start or to load the soundfont.
    case synthFailed(String)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason):
            return "cannot read '\(path)': \(reason)"
        case .tooLarge(let path, let bytes, let limit):
            return "'\(path)' is too large: \(bytes) bytes, the limit is \(limit)"
        case .notANote(let source, let line, let token):
            return "\(source):\(line): '\(token)' is not a MIDI note number"
        case .noteOutsidePiano(let source, let line, let token):
            return "\(source):\(line): note \(token) is outside the piano (MIDI \(PianoRollFrame.lowestNote)...\(PianoRollFrame.highestNote))"
        case .malformedMIDI(let path, let offset, let reason):
            return "malformed MIDI file '\(path)' at byte \(offset): \(reason)"
        case .unsupportedMIDI(let path, let reason):
            return "unsupported MIDI file '\(path)': \(reason)"
        case .tooManySteps(let path, let steps, let limit):
            return "'\(path)' would make \(steps) steps, more than the limit of \(limit)"
        case .soundFontMissing(let path):
            return "soundfont '\(path)' not found (install the Debian package fluid-soundfont-gm, or give another .sf2)"
        case .synthFailed(let reason):
            return "FluidSynth: \(reason)"
        }
    }
}
