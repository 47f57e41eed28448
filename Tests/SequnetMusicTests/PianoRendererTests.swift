import Foundation
import SequnetAudio
@testable import SequnetMusic
import XCTest

final class PianoRendererTests: XCTestCase {
    /// One renderer for all tests: loading the soundfont is the slow part.
    nonisolated(unsafe) static var shared: PianoRenderer?

    func renderer() throws -> PianoRenderer {
        if let renderer = Self.shared { return renderer }
        let renderer = try PianoRenderer()
        Self.shared = renderer
        return renderer
    }

    static let cMajor = PianoRollFrame(notes: [60, 64, 67])

    /// |DFT| of `samples` at `frequency` (Hann window), per sample.
    func magnitude(_ samples: ArraySlice<Float>, at frequency: Double, sampleRate: Int) -> Double {
        var re = 0.0, im = 0.0
        let n = samples.count
        for (i, x) in samples.enumerated() {
            let window = 0.5 - 0.5 * cos(2 * .pi * Double(i) / Double(n - 1))
            let phase = 2 * .pi * frequency * Double(i) / Double(sampleRate)
            re += Double(x) * window * cos(phase)
            im -= Double(x) * window * sin(phase)
        }
        return (re * re + im * im).squareRoot() / Double(n)
    }

    func largestDifference(_ a: [Float], _ b: [Float]) -> Float {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) }.max() ?? 0 : .infinity
    }

    func rms(_ samples: ArraySlice<Float>) -> Double {
        (samples.reduce(0) { $0 + Double($1) * Double($1) } / Double(max(1, samples.count))).squareRoot()
    }

    func testCMajorChordSoundsMiddleCThenDiesAway() throws {
        let renderer = try renderer()
        // Four steps of 0.25 s: one chord held for a second, then a 1 s tail.
        let audio = renderer.render(Array(repeating: Self.cMajor, count: 4), secondsPerStep: 0.25)
        XCTAssertEqual(audio.sampleRate, 44_100)
        XCTAssertEqual(audio.frameCount, 2 * 44_100)
        let mono = audio.mono
        let held = mono[4_410..<39_690]                         // 0.1 ... 0.9 s
        XCTAssertGreaterThan(rms(held), 0.01)
        XCTAssertGreaterThan(mono.map(abs).max() ?? 0, 0.05)
        XCTAssertLessThanOrEqual(mono.map(abs).max() ?? 0, 1)

        // Middle C (261.63 Hz) is the strongest frequency between 200 and
        // 300 Hz (E4 and G4 and all overtones lie above), and far above the
        // spectrum between the chord's notes.
        let middleC = magnitude(held, at: 261.63, sampleRate: 44_100)
        let strongest = stride(from: 200.0, through: 300.0, by: 1)
            .map { (frequency: $0, magnitude: magnitude(held, at: $0, sampleRate: 44_100)) }
            .max { $0.magnitude < $1.magnitude }!.frequency
        XCTAssertEqual(strongest, 261.63, accuracy: 2)
        XCTAssertGreaterThan(middleC, 20 * magnitude(held, at: 230, sampleRate: 44_100))
        XCTAssertGreaterThan(middleC, 20 * magnitude(held, at: 295, sampleRate: 44_100))

        // The last 0.1 s of the tail is near silence (60 dB under the chord).
        let end = mono[(mono.count - 4_410)...]
        XCTAssertLessThan(rms(end), rms(held) / 1000, "tail rms \(rms(end)) vs held \(rms(held))")
    }

    func testRenderingTwiceGivesTheSameAudio() throws {
        // `render` resets the synthesiser, reverb included, so earlier
        // renderings do not leak into the next.
        let renderer = try renderer()
        let frames = [Self.cMajor, .silent, PianoRollFrame(notes: [48, 72])]
        let first = renderer.render(frames, secondsPerStep: 0.2, releaseSeconds: 0.1)
        _ = renderer.render([PianoRollFrame(notes: [30, 90])], secondsPerStep: 0.3, releaseSeconds: 0)
        let again = renderer.render(frames, secondsPerStep: 0.2, releaseSeconds: 0.1)
        XCTAssertTrue(again.samples == first.samples, "largest difference \(largestDifference(again.samples, first.samples))")
    }

    func testStreamingStepsMatchOneRendering() throws {
        let renderer = try renderer()
        let frames = [Self.cMajor, Self.cMajor, .silent, PianoRollFrame(notes: [55])]
        let whole = renderer.render(frames, secondsPerStep: 0.1, velocity: 90, releaseSeconds: 0.5)
        renderer.reset()
        var streamed: [Float] = []
        for frame in frames { renderer.renderStep(frame, secondsPerStep: 0.1, velocity: 90, into: &streamed) }
        renderer.renderRelease(seconds: 0.5, into: &streamed)
        XCTAssertTrue(streamed == whole.samples, "largest difference \(largestDifference(streamed, whole.samples))")
    }

    func testStepBoundariesDoNotDrift() throws {
        // A step of 0.0123 s is 542.43 samples: rounding each step alone
        // would give 542,000 samples for 1000 steps; rounding the total time
        // gives the exact 12.3 s.
        let renderer = try renderer()
        let audio = renderer.render(Array(repeating: .silent, count: 1000), secondsPerStep: 0.0123, releaseSeconds: 0)
        XCTAssertEqual(audio.frameCount, 542_430)
    }

    func testWritesAStereoWAV() throws {
        let renderer = try renderer()
        let audio = renderer.render([Self.cMajor], secondsPerStep: 0.5, releaseSeconds: 0.5)
        let path = temporaryPath("chord.wav")
        try audio.writeWAV(toPath: path)
        let read = try readMonoAudio(atPath: path)
        XCTAssertEqual(read.sourceChannels, 2)
        XCTAssertEqual(read.sampleRate, 44_100)
        XCTAssertEqual(read.samples.count, audio.frameCount)
    }

    func testMissingSoundFontNamesThePathAndThePackage() {
        XCTAssertThrowsError(try PianoRenderer(soundFontPath: "/nonexistent/piano.sf2")) {
            XCTAssertEqual("\($0)", "soundfont '/nonexistent/piano.sf2' not found (install the Debian package fluid-soundfont-gm, or give another .sf2)")
        }
    }

    func testAFileThatIsNotASoundFontIsRefused() throws {
        let path = temporaryPath("not.sf2")
        try "not a soundfont".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PianoRenderer(soundFontPath: path)) {
            XCTAssertEqual("\($0)", "FluidSynth: '\(path)' is not a SoundFont (no RIFF 'sfbk' header)")
        }
    }

    func testFluidSynthWritesNothingToStandardOutput() throws {
        // Standard output may carry piano-roll text: capture it while a
        // synthesiser starts, renders and fails to load a bad soundfont.
        let badPath = temporaryPath("bad.sf2")
        // Past the header check, so that FluidSynth itself fails and logs.
        try "RIFF\u{10}\0\0\0sfbkLIST garbage".write(toFile: badPath, atomically: true, encoding: .utf8)
        var pipeEnds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&pipeEnds), 0)
        _ = fcntl(pipeEnds[0], F_SETFL, O_NONBLOCK)
        fflush(stdout)
        let savedStandardOutput = dup(1)
        dup2(pipeEnds[1], 1)
        do {
            let renderer = try PianoRenderer(sampleRate: 22_050)
            _ = renderer.render([Self.cMajor], secondsPerStep: 0.1, releaseSeconds: 0.1)
        }
        _ = try? PianoRenderer(soundFontPath: badPath)
        fflush(stdout)
        dup2(savedStandardOutput, 1)
        close(savedStandardOutput)
        close(pipeEnds[1])
        var buffer = [UInt8](repeating: 0, count: 4096)
        let got = read(pipeEnds[0], &buffer, buffer.count)
        close(pipeEnds[0])
        XCTAssertLessThanOrEqual(got, 0, "stdout got: \(String(decoding: buffer.prefix(max(0, got)), as: UTF8.self))")
    }
}
