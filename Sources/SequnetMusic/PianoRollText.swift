import SequnetAudio

/// What one line of piano-roll text says.
public enum PianoRollLine: Equatable, Sendable {
    /// A line starting with `#` (after optional blanks): not a step.
    case comment
    /// A line `---`: the end of one sequence and the start of the next.
    case sequenceBreak
    /// A time step: the notes sounding (an empty or blank line is silence).
    case frame(PianoRollFrame)
}

/// The data sets' piano-roll text format (`datasets/README.md`): one line per
/// time step holding the sounding MIDI notes (21...108) separated by spaces,
/// an empty line for a silent step, a line `---` between two sequences, and
/// `#` comment lines (the files start with one).
///
/// Reading is strict: a token that is not a note number, or a note outside
/// the piano, is refused with the line number, because a silently dropped
/// note would change what a model is scored on. Tabs count as spaces,
/// `\r\n` line ends are accepted, and a note repeated on a line counts once.
public enum PianoRollText {
    /// The largest file `read(contentsOfFile:)` accepts by default (the
    /// largest data set file is a few megabytes).
    public static let defaultByteLimit = 1 << 30

    /// Reads one line (without its line end). `lineNumber` and `source`
    /// only name the place in an error.
    ///
    /// - Throws: `MusicError.notANote` for a token that is not a decimal
    ///   number, `.noteOutsidePiano` for a number outside 21...108.
    public static func parseLine<Line: StringProtocol>(_ line: Line, lineNumber: Int,
                                                       source: String = "<text>") throws -> PianoRollLine {
        var utf8 = Array(line.utf8)
        return try utf8.withUnsafeMutableBufferPointer {
            try parseLine(UnsafeBufferPointer($0), lineNumber: lineNumber, source: source)
        }
    }

    /// Reads every sequence in `text`. A text with no step and no `---`
    /// (empty, or only comments) holds no sequence; the final line end is
    /// optional.
    ///
    /// - Throws: `MusicError.notANote` / `.noteOutsidePiano` naming the
    ///   first bad line.
    public static func parse(_ text: String, source: String = "<text>") throws -> [[PianoRollFrame]] {
        try Array(text.utf8).withUnsafeBufferPointer { try parse(bytes: $0, source: source) }
    }

    /// Reads every sequence in the file at `path` ("-" is standard input).
    ///
    /// - Throws: `MusicError.cannotRead` / `.tooLarge` for the file, or the
    ///   errors of `parse`, naming the file and line.
    public static func read(contentsOfFile path: String, byteLimit: Int = defaultByteLimit) throws -> [[PianoRollFrame]] {
        let bytes = try readFileBytes(atPath: path, limit: byteLimit)
        return try bytes.withUnsafeBufferPointer { try parse(bytes: $0, source: path) }
    }

    /// The text of `sequences`: an optional `#` comment line, then the
    /// steps, with `---` between sequences. `parse` gives `sequences` back,
    /// except that a lone empty sequence reads back as none.
    public static func format(_ sequences: [[PianoRollFrame]], comment: String? = nil) -> String {
        var text = ""
        if let comment { text += commentLine(comment) }
        for (index, sequence) in sequences.enumerated() {
            if index > 0 { text += "---\n" }
            for frame in sequence { text += frame.description + "\n" }
        }
        return text
    }

    /// `comment` as one `#` line (line ends inside it become spaces, so it
    /// cannot inject steps).
    static func commentLine(_ comment: String) -> String {
        let flat = comment.map { $0 == "\n" || $0 == "\r" ? " " : String($0) }.joined()
        return "# " + flat + "\n"
    }

    static func parse(bytes: UnsafeBufferPointer<UInt8>, source: String) throws -> [[PianoRollFrame]] {
        var sequences: [[PianoRollFrame]] = []
        var current: [PianoRollFrame] = []
        var sawContent = false
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            lineNumber += 1
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            let line = UnsafeBufferPointer(rebasing: bytes[start..<lineEnd])
            switch try parseLine(line, lineNumber: lineNumber, source: source) {
            case .comment: break
            case .sequenceBreak:
                sequences.append(current)
                current = []
                sawContent = true
            case .frame(let frame):
                current.append(frame)
                sawContent = true
            }
            start = end + 1
        }
        if sawContent { sequences.append(current) }
        return sequences
    }

    static func parseLine(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int, source: String) throws -> PianoRollLine {
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        var first = 0
        while first < line.count && (line[first] == space || line[first] == tab) { first += 1 }
        if first < line.count && line[first] == UInt8(ascii: "#") { return .comment }

        var last = line.count
        while last > first && (line[last - 1] == space || line[last - 1] == tab) { last -= 1 }
        if UnsafeBufferPointer(rebasing: line[first..<last]).elementsEqual("---".utf8) { return .sequenceBreak }

        var frame = PianoRollFrame()
        var index = first
        while index < last {
            if line[index] == space || line[index] == tab { index += 1; continue }
            var tokenEnd = index
            while tokenEnd < last && line[tokenEnd] != space && line[tokenEnd] != tab { tokenEnd += 1 }
            let token = UnsafeBufferPointer(rebasing: line[index..<tokenEnd])
            frame.insert(try note(token, lineNumber: lineNumber, source: source))
            index = tokenEnd
        }
        return .frame(frame)
    }

    private static func note(_ token: UnsafeBufferPointer<UInt8>, lineNumber: Int, source: String) throws -> Int {
        var value = 0
        for byte in token {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else {
                throw MusicError.notANote(source: source, line: lineNumber, token: printable(token))
            }
            // Saturate: any long number is outside the piano anyway.
            value = min(value * 10 + Int(byte - UInt8(ascii: "0")), 1_000_000)
        }
        guard PianoRollFrame.isPianoNote(value) else {
            throw MusicError.noteOutsidePiano(source: source, line: lineNumber, token: printable(token))
        }
        return value
    }

    /// A token as it can be shown in a one-line error: control bytes become
    /// '?', and long tokens are cut.
    private static func printable(_ token: UnsafeBufferPointer<UInt8>) -> String {
        let shown = token.prefix(24).map { $0 < 0x20 || $0 == 0x7f ? UInt8(ascii: "?") : $0 }
        return String(decoding: shown, as: UTF8.self) + (token.count > 24 ? "..." : "")
    }
}

/// Writes piano-roll text a step at a time, for streaming generation to
/// standard output: each step is one `write(2)` of one whole line, so a
/// reader at the other end of a pipe sees every step as soon as it is made.
///
/// Call `beginSequence()` before each sequence (the first call writes
/// nothing; later ones write the `---` line), then `write(_:)` per step.
/// Writing frames without ever calling `beginSequence()` makes one sequence.
public final class PianoRollTextWriter {
    /// Where the text goes (`RawOutput.standardOutput()`, or a file).
    public let output: RawOutput
    /// Steps written so far, across all sequences.
    public private(set) var stepsWritten = 0
    private var sequencesBegun = 0
    private var line: [UInt8] = []

    /// Starts the text, writing `comment` (if any) as its first `#` line.
    ///
    /// - Throws: `AudioError.writeFailed` / `.outputClosed` from `output`.
    public init(output: RawOutput, comment: String? = nil) throws {
        self.output = output
        line.reserveCapacity(4 * PianoRollFrame.keyCount)
        if let comment { try writeLine(PianoRollText.commentLine(comment).utf8) }
    }

    /// Starts a new sequence: writes `---` if a sequence was begun before.
    public func beginSequence() throws {
        if sequencesBegun > 0 { try writeLine("---\n".utf8) }
        sequencesBegun += 1
    }

    /// Writes one step as one line.
    ///
    /// - Throws: `AudioError.writeFailed`, or `.outputClosed` when the
    ///   reader of a pipe has gone (the caller then stops quietly).
    public func write(_ frame: PianoRollFrame) throws {
        if sequencesBegun == 0 { sequencesBegun = 1 }
        line.removeAll(keepingCapacity: true)
        for note in frame.notes {
            if !line.isEmpty { line.append(UInt8(ascii: " ")) }
            line.append(contentsOf: String(note).utf8)
        }
        line.append(UInt8(ascii: "\n"))
        try line.withUnsafeBytes { try output.write($0) }
        stepsWritten += 1
    }

    private func writeLine<Bytes: Sequence>(_ bytes: Bytes) throws where Bytes.Element == UInt8 {
        try Array(bytes).withUnsafeBytes { try output.write($0) }
    }
}

extension PianoRollText {
    /// Writes `sequences` to `path` ("-" is standard output) in the text
    /// format, with `comment` as the first line.
    ///
    /// - Throws: `AudioError.writeFailed` if the file cannot be written.
    public static func write(_ sequences: [[PianoRollFrame]], toPath path: String, comment: String? = nil) throws {
        let output = try RawOutput.open(path: path)
        let writer = try PianoRollTextWriter(output: output, comment: comment)
        for sequence in sequences {
            try writer.beginSequence()
            for frame in sequence { try writer.write(frame) }
        }
        try output.close()
    }
}
