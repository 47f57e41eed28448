@testable import SequnetMusic
import XCTest

final class MIDIFileTests: XCTestCase {
    /// Rolls with held notes, re-voiced chords, silences at both ends.
    func randomRoll(seed: UInt64, steps: Int) -> [PianoRollFrame] {
        var generator = SplitMix(seed: seed)
        var frame = PianoRollFrame.silent
        var frames: [PianoRollFrame] = [.silent]
        for _ in 0..<steps {
            switch generator.next() % 4 {
            case 0: frame = generator.frame()                       // new chord
            case 1: frame = frame.union(generator.frame())          // add keys, hold the rest
            case 2: if let note = frame.notes.first { frame.remove(note) }
            default: break                                          // hold
            }
            frames.append(frame)
        }
        return frames + [.silent, .silent]
    }

    func testFramesToMIDIAndBackAreIdentical() throws {
        let timings = [
            StepTiming(beatsPerMinute: 120, stepsPerQuarter: 2),
            StepTiming(secondsPerStep: 0.3),
            StepTiming(beatsPerMinute: 97, stepsPerQuarter: 3),
            StepTiming(beatsPerMinute: 200, stepsPerQuarter: 16),
        ]
        for (index, timing) in timings.enumerated() {
            let frames = randomRoll(seed: UInt64(index), steps: 300)
            let midi = try MIDIFile(bytes: MIDIFile.encode(frames, timing: timing))
            XCTAssertEqual(midi.format, 0)
            XCTAssertEqual(midi.duration, Double(frames.count) * timing.secondsPerStep, accuracy: 1e-9)
            let roll = try midi.pianoRoll(secondsPerStep: timing.secondsPerStep)
            XCTAssertEqual(roll.frames, frames, "\(timing)")
            XCTAssertEqual(roll.notesOutsidePiano, 0)
        }
    }

    func testHeldKeysAreOneNote() throws {
        let c4 = PianoRollFrame(notes: [60])
        let midi = try MIDIFile(bytes: MIDIFile.encode([c4, c4, c4, .silent, c4], timing: StepTiming(secondsPerStep: 0.5)))
        XCTAssertEqual(midi.notes, [
            MIDINote(note: 60, channel: 0, velocity: 80, onset: 0, offset: 1.5),
            MIDINote(note: 60, channel: 0, velocity: 80, onset: 2, offset: 2.5),
        ])
    }

    func testEncodesTheExpectedBytes() {
        let c4 = PianoRollFrame(notes: [60])
        let bytes = MIDIFile.encode([c4, c4, .silent], timing: StepTiming(beatsPerMinute: 120))
        let expected: [UInt8] = Array("MThd".utf8) + [0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0] + Array("MTrk".utf8) + [0, 0, 0, 24,
            0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,    // tempo 500,000 µs per quarter
            0x00, 0xC0, 0x00,                            // program 0, channel 0
            0x00, 0x90, 0x3C, 0x50,                      // C4 on at step 0
            0x87, 0x40, 0x80, 0x3C, 0x40,                // off at step 2 (tick 960)
            0x83, 0x60, 0xFF, 0x2F, 0x00]                // end of track at tick 1440
        XCTAssertEqual(bytes, expected)
    }

    /// Format 1, 96 ticks per quarter: a tempo track (120 BPM, then 60 BPM
    /// from 1 s, a sysex, a text event) and a note track using running
    /// status, note-on velocity 0, a drum note, a note below the piano, a
    /// note never released, and an unknown chunk between the tracks.
    static let handBuilt: [UInt8] = {
        let tempoTrack: [UInt8] = [
            0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,    // 500,000 µs per quarter
            0x00, 0xF0, 0x03, 0x7E, 0x7F, 0xF7,          // sysex
            0x00, 0xFF, 0x01, 0x02, 0x68, 0x69,          // text "hi"
            0x81, 0x40, 0xFF, 0x51, 0x03, 0x0F, 0x42, 0x40, // tick 192: 1,000,000 µs per quarter
            0x00, 0xFF, 0x2F, 0x00,
        ]
        let noteTrack: [UInt8] = [
            0x00, 0x90, 0x3C, 0x64,                      // C4 on
            0x00, 0x40, 0x64,                            // E4 on (running status)
            0x00, 0xC0, 0x00,                            // program change
            0x00, 0x99, 0x24, 0x64,                      // drum on, channel 10
            0x60, 0x90, 0x3C, 0x00,                      // tick 96: C4 off (velocity 0)
            0x00, 0x40, 0x00,                            // E4 off (running status)
            0x00, 0x89, 0x24, 0x40,                      // drum off
            0x60, 0x91, 0x43, 0x50,                      // tick 192: G4 on, channel 2
            0x60, 0x81, 0x43, 0x40,                      // tick 288: G4 off
            0x00, 0x91, 0x14, 0x50,                      // note 20 on (below the piano)
            0x00, 0x90, 0x48, 0x70,                      // C5 on, never released
            0x60, 0x81, 0x14, 0x00,                      // tick 384: note 20 off
            0x00, 0xFF, 0x2F, 0x00,
        ]
        func chunk(_ id: String, _ body: [UInt8]) -> [UInt8] {
            Array(id.utf8) + [0, 0, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        }
        return chunk("MThd", [0, 1, 0, 2, 0, 96]) + chunk("MTrk", tempoTrack) + chunk("XTRA", [1, 2, 3])
            + chunk("MTrk", noteTrack)
    }()

    func testReadsAHandBuiltFormat1File() throws {
        let midi = try MIDIFile(bytes: Self.handBuilt, name: "hand.mid")
        XCTAssertEqual(midi.format, 1)
        XCTAssertEqual(midi.trackCount, 2)
        XCTAssertEqual(midi.drumNotesSkipped, 1)
        // 96 ticks = 0.5 s at 120 BPM; after tick 192 (1 s), 96 ticks = 1 s.
        XCTAssertEqual(midi.notes, [
            MIDINote(note: 60, channel: 0, velocity: 100, onset: 0, offset: 0.5),
            MIDINote(note: 64, channel: 0, velocity: 100, onset: 0, offset: 0.5),
            MIDINote(note: 67, channel: 1, velocity: 80, onset: 1, offset: 2),
            MIDINote(note: 20, channel: 1, velocity: 80, onset: 2, offset: 3),
            MIDINote(note: 72, channel: 0, velocity: 112, onset: 2, offset: 3),
        ])
        XCTAssertEqual(midi.duration, 3)
        let roll = try midi.pianoRoll(secondsPerStep: 0.5)
        XCTAssertEqual(roll.frames, [[60, 64], [], [67], [67], [72], [72]].map(PianoRollFrame.init(notes:)))
        XCTAssertEqual(roll.notesOutsidePiano, 1)
    }

    func testANoteSoundsInStepsItCoversByHalfOrInItsOnsetStep() throws {
        let notes = [
            MIDINote(note: 60, channel: 0, velocity: 64, onset: 0.3, offset: 1.6),   // 0.7 and 0.6 of steps 0, 1
            MIDINote(note: 62, channel: 0, velocity: 64, onset: 0.6, offset: 1.2),   // 0.4 and 0.2: onset step 0
            MIDINote(note: 64, channel: 0, velocity: 64, onset: 2.0, offset: 2.5),   // exactly half of step 2
            MIDINote(note: 65, channel: 0, velocity: 64, onset: 3.4, offset: 3.45),  // a grace note in step 3
        ]
        let roll = try MIDIFile(notes: notes, duration: 4.2).pianoRoll(secondsPerStep: 1)
        XCTAssertEqual(roll.frames, [[60, 62], [60], [64], [65]].map(PianoRollFrame.init(notes:)))
    }

    func testEveryTruncationIsAnErrorNotACrash() {
        for length in 0..<Self.handBuilt.count {
            XCTAssertThrowsError(try MIDIFile(bytes: Array(Self.handBuilt.prefix(length))), "prefix \(length)") {
                XCTAssertFalse("\($0)".contains("\n"))
            }
        }
    }

    func testCorruptedBytesNeverCrash() {
        var generator = SplitMix(seed: 99)
        for _ in 0..<5000 {
            var bytes = Self.handBuilt
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(generator.next() & 0xFF)
            }
            if let midi = try? MIDIFile(bytes: bytes) {
                _ = try? midi.pianoRoll(secondsPerStep: 0.25, stepLimit: 100_000)
            }
        }
    }

    func testHostileFilesGiveOneLineErrors() {
        func header(format: UInt8 = 0, tracks: UInt8 = 1, division: [UInt8] = [0, 96]) -> [UInt8] {
            Array("MThd".utf8) + [0, 0, 0, 6, 0, format, 0, tracks] + division
        }
        func track(_ body: [UInt8]) -> [UInt8] { Array("MTrk".utf8) + [0, 0, 0, UInt8(body.count)] + body }
        let cases: [([UInt8], String)] = [
            (Array("RIFF....".utf8), "malformed MIDI file 'x.mid' at byte 0: not a Standard MIDI File (no 'MThd' header)"),
            (Array("MThd".utf8) + [0x7F, 0xFF, 0xFF, 0xFF, 0, 0],
             "malformed MIDI file 'x.mid' at byte 4: chunk of 2147483647 bytes runs past the end of the file (2 left)"),
            (header(format: 2) + track([0, 0xFF, 0x2F, 0]), "unsupported MIDI file 'x.mid': format 2 (independent sequences) is not read"),
            (header(division: [0, 0]), "malformed MIDI file 'x.mid' at byte 12: time division of 0 ticks per quarter note"),
            (header(tracks: 2) + track([0, 0xFF, 0x2F, 0]), "malformed MIDI file 'x.mid' at byte 26: truncated: 1 of 2 tracks found"),
            (header() + track([0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x90, 60, 64]),
             "malformed MIDI file 'x.mid' at byte 22: variable-length number longer than 4 bytes"),
            (header() + track([0, 60, 64]), "malformed MIDI file 'x.mid' at byte 23: data byte 0x3C with no running status"),
            (header() + track([0, 0x90, 60, 0x80]), "malformed MIDI file 'x.mid' at byte 25: status byte 0x80 where a data byte was expected"),
            (header() + track([0, 0xF4]), "malformed MIDI file 'x.mid' at byte 23: unexpected status byte 0xF4"),
            (header() + track([0, 0x90, 60]), "malformed MIDI file 'x.mid' at byte 25: truncated event (the track ends inside it)"),
            (header() + track([0, 0xFF, 0x01, 0x7F, 0x41]), "malformed MIDI file 'x.mid' at byte 23: meta event of 127 bytes runs past its track"),
            (header() + track([0, 0xF0, 0x10, 0x41]), "malformed MIDI file 'x.mid' at byte 23: sysex of 16 bytes runs past its track"),
        ]
        for (bytes, message) in cases {
            XCTAssertThrowsError(try MIDIFile(bytes: bytes, name: "x.mid")) { XCTAssertEqual("\($0)", message) }
        }
    }

    func testAVeryLongFileIsRefusedBeforeAllocating() throws {
        // One note lasting 0x0FFFFFFF ticks at the slowest tempo: years.
        let body: [UInt8] = [0x00, 0xFF, 0x51, 0x03, 0xFF, 0xFF, 0xFF, 0x00, 0x90, 60, 64,
                             0xFF, 0xFF, 0xFF, 0x7F, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00]
        let bytes = Array("MThd".utf8) + [0, 0, 0, 6, 0, 0, 0, 1, 0, 1] + Array("MTrk".utf8) + [0, 0, 0, UInt8(body.count)] + body
        let midi = try MIDIFile(bytes: bytes, name: "long.mid")
        XCTAssertThrowsError(try midi.pianoRoll(secondsPerStep: 0.25)) {
            XCTAssertEqual("\($0)", "'long.mid' would make 18014397369 steps, more than the limit of 1000000")
        }
    }

    func testSMPTEDivisionCountsFramesNotBeats() throws {
        // 25 frames per second, 40 ticks a frame: 1000 ticks a second.
        let body: [UInt8] = [0x00, 0x90, 60, 64, 0x87, 0x68, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00]
        let bytes = Array("MThd".utf8) + [0, 0, 0, 6, 0, 0, 0, 1, 0xE7, 40] + Array("MTrk".utf8) + [0, 0, 0, UInt8(body.count)] + body
        XCTAssertEqual(try MIDIFile(bytes: bytes).notes.map(\.offset), [1.0])
    }

    func testWritesAndReadsAFile() throws {
        let path = temporaryPath("roll.mid")
        let frames = randomRoll(seed: 5, steps: 40)
        let timing = StepTiming(beatsPerMinute: 100, stepsPerQuarter: 4)
        try MIDIFile.write(frames, timing: timing, toPath: path)
        XCTAssertEqual(try MIDIFile(contentsOfFile: path).pianoRoll(secondsPerStep: timing.secondsPerStep).frames, frames)
    }
}

extension MIDIFileTests {
    func testEveryJSBTestChoraleSurvivesAMIDIRoundTrip() throws {
        let path = PianoRollTextTests.packageRoot.appendingPathComponent("datasets/music/jsb_test.txt").path
        let timing = StepTiming(beatsPerMinute: 120, stepsPerQuarter: 2)
        for (index, chorale) in try PianoRollText.read(contentsOfFile: path).enumerated() {
            let midi = try MIDIFile(bytes: MIDIFile.encode(chorale, timing: timing), name: "chorale \(index)")
            XCTAssertEqual(try midi.pianoRoll(secondsPerStep: timing.secondsPerStep).frames, chorale, "chorale \(index)")
        }
    }
}
