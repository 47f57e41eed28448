import Foundation
import SequnetAudio
@testable import SequnetMusic
import XCTest

final class PianoRollTextTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testFrameHoldsTheNotesOfAPianoAsKeys() {
        var frame = PianoRollFrame(notes: [108, 21, 60, 60])
        XCTAssertEqual(frame.notes, [21, 60, 108])
        XCTAssertEqual(frame.count, 3)
        XCTAssertEqual(frame.multiHot.count, 88)
        XCTAssertEqual(frame.multiHot[0], 1)      // key 0 = A0 = 21
        XCTAssertEqual(frame.multiHot[87], 1)     // key 87 = C8 = 108
        XCTAssertEqual(PianoRollFrame(multiHot: frame.multiHot), frame)
        frame.remove(60)
        XCTAssertFalse(frame.contains(60))
        XCTAssertFalse(frame.contains(20))
        XCTAssertEqual(frame.description, "21 108")
        XCTAssertTrue(PianoRollFrame.silent.isSilent)
    }

    func testParsesStepsSilencesAndSequenceBreaks() throws {
        let text = "# a comment\n60 64 67\n\n72 \n---\n\t48\n---\n---\n"
        let sequences = try PianoRollText.parse(text)
        XCTAssertEqual(sequences, [
            [PianoRollFrame(notes: [60, 64, 67]), .silent, PianoRollFrame(notes: [72])],
            [PianoRollFrame(notes: [48])],
            [],
            [],
        ])
    }

    func testFinalLineEndIsOptionalAndCRLFIsAccepted() throws {
        XCTAssertEqual(try PianoRollText.parse("60\r\n\r\n62"), [[PianoRollFrame(notes: [60]), .silent, PianoRollFrame(notes: [62])]])
        XCTAssertEqual(try PianoRollText.parse("60\n\n"), [[PianoRollFrame(notes: [60]), .silent]])
    }

    func testEmptyOrCommentOnlyTextHoldsNoSequence() throws {
        XCTAssertEqual(try PianoRollText.parse(""), [])
        XCTAssertEqual(try PianoRollText.parse("# nothing\n"), [])
    }

    func testRefusesATokenThatIsNotANoteWithItsLine() {
        XCTAssertThrowsError(try PianoRollText.parse("# c\n60\n61 x2\n", source: "roll.txt")) {
            XCTAssertEqual($0 as? MusicError, .notANote(source: "roll.txt", line: 3, token: "x2"))
            XCTAssertEqual("\($0)", "roll.txt:3: 'x2' is not a MIDI note number")
        }
        XCTAssertThrowsError(try PianoRollText.parse("-60\n")) {
            XCTAssertEqual($0 as? MusicError, .notANote(source: "<text>", line: 1, token: "-60"))
        }
        XCTAssertThrowsError(try PianoRollText.parse("60 ---\n")) {
            XCTAssertEqual($0 as? MusicError, .notANote(source: "<text>", line: 1, token: "---"))
        }
    }

    func testRefusesANoteOutsideThePianoWithItsLine() {
        XCTAssertThrowsError(try PianoRollText.parse("60\n20\n")) {
            XCTAssertEqual($0 as? MusicError, .noteOutsidePiano(source: "<text>", line: 2, token: "20"))
            XCTAssertEqual("\($0)", "<text>:2: note 20 is outside the piano (MIDI 21...108)")
        }
        XCTAssertThrowsError(try PianoRollText.parse("109")) {
            XCTAssertEqual($0 as? MusicError, .noteOutsidePiano(source: "<text>", line: 1, token: "109"))
        }
        XCTAssertThrowsError(try PianoRollText.parse("99999999999999999999999999")) {
            XCTAssertEqual($0 as? MusicError, .noteOutsidePiano(source: "<text>", line: 1, token: "999999999999999999999999..."))
        }
    }

    func testErrorsStayOnOneLine() {
        XCTAssertThrowsError(try PianoRollText.parse("6\u{1}0\n")) {
            XCTAssertEqual("\($0)", "<text>:1: '6?0' is not a MIDI note number")
        }
    }

    func testLineByLineReadingForStreams() throws {
        XCTAssertEqual(try PianoRollText.parseLine("# header", lineNumber: 1), .comment)
        XCTAssertEqual(try PianoRollText.parseLine(" --- ", lineNumber: 2), .sequenceBreak)
        XCTAssertEqual(try PianoRollText.parseLine("", lineNumber: 3), .frame(.silent))
        XCTAssertEqual(try PianoRollText.parseLine("64 60", lineNumber: 4), .frame(PianoRollFrame(notes: [60, 64])))
        XCTAssertThrowsError(try PianoRollText.parseLine("64 1e2", lineNumber: 5, source: "stdin")) {
            XCTAssertEqual("\($0)", "stdin:5: '1e2' is not a MIDI note number")
        }
    }

    func testFormatThenParseGivesTheSequencesBack() throws {
        var generator = SplitMix(seed: 7)
        let sequences = (0..<4).map { _ in (0..<50).map { _ in generator.frame() } } + [[], [.silent]]
        let text = PianoRollText.format(sequences, comment: "test\nrolls")
        XCTAssertTrue(text.hasPrefix("# test rolls\n"))
        XCTAssertEqual(try PianoRollText.parse(text), sequences)
    }

    func testStreamingWriterWritesWhatTheReaderReads() throws {
        let path = temporaryPath("roll.txt")
        let output = try RawOutput.open(path: path)
        let writer = try PianoRollTextWriter(output: output, comment: "streamed")
        try writer.beginSequence()
        try writer.write(PianoRollFrame(notes: [60, 64]))
        try writer.write(.silent)
        try writer.beginSequence()
        try writer.write(PianoRollFrame(notes: [21, 108]))
        // Each step is on disk as soon as it is written (no buffering).
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "# streamed\n60 64\n\n---\n21 108\n")
        try output.close()
        XCTAssertEqual(writer.stepsWritten, 3)
        XCTAssertEqual(try PianoRollText.read(contentsOfFile: path),
                       [[PianoRollFrame(notes: [60, 64]), .silent], [PianoRollFrame(notes: [21, 108])]])
    }

    func testReadsTheJSBChoralesTestSet() throws {
        let path = Self.packageRoot.appendingPathComponent("datasets/music/jsb_test.txt").path
        let sequences = try PianoRollText.read(contentsOfFile: path)
        XCTAssertEqual(sequences.count, 77)
        XCTAssertEqual(sequences.map(\.count).reduce(0, +), 4725)
        XCTAssertEqual(sequences[0][0], PianoRollFrame(notes: [72, 76, 79, 84]))
    }

    func testMissingFileIsOneLineError() {
        XCTAssertThrowsError(try PianoRollText.read(contentsOfFile: "/nonexistent/roll.txt")) {
            XCTAssertEqual("\($0)", "cannot read '/nonexistent/roll.txt': No such file or directory")
        }
        XCTAssertThrowsError(try PianoRollText.read(contentsOfFile: "/tmp")) {
            XCTAssertEqual("\($0)", "cannot read '/tmp': is a directory")
        }
    }

    func testFileOverTheLimitIsRefused() throws {
        let path = temporaryPath("big.txt")
        try String(repeating: "60\n", count: 100).write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PianoRollText.read(contentsOfFile: path, byteLimit: 100)) {
            XCTAssertEqual($0 as? MusicError, .tooLarge(path: path, bytes: 300, limit: 100))
        }
    }
}

/// A small deterministic generator for test rolls.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A frame of 0 to 4 notes, often repeating keys of the last frame.
    mutating func frame() -> PianoRollFrame {
        let count = Int(next() % 5)
        return PianoRollFrame(notes: (0..<count).map { _ in 21 + Int(next() % 88) })
    }
}

func temporaryPath(_ name: String) -> String {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("SequnetMusicTests-\(getpid())", isDirectory: true)
    try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent(name).path
}
