import CFluidSynth
import SequnetAudio
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Stereo audio rendered from a piano roll.
public struct RenderedAudio: Sendable {
    /// Interleaved left/right samples, nominally in [-1, 1].
    public var samples: [Float]
    /// Frames (left/right pairs) per second.
    public var sampleRate: Int
    /// Always 2: FluidSynth places each key in the stereo field as the
    /// soundfont's piano is recorded, which a mono mix would lose.
    public var channels: Int { 2 }

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    /// Frames (left/right pairs).
    public var frameCount: Int { samples.count / 2 }

    /// Duration in seconds.
    public var seconds: Double { Double(frameCount) / Double(sampleRate) }

    /// The two channels averaged.
    public var mono: [Float] {
        (0..<frameCount).map { 0.5 * (samples[2 * $0] + samples[2 * $0 + 1]) }
    }

    /// Writes a 16-bit stereo WAV file with SequnetAudio's `WAVWriter`.
    ///
    /// - Throws: `AudioError.writeFailed`.
    public func writeWAV(toPath path: String) throws {
        let writer = try WAVWriter(path: path, sampleRate: sampleRate, channels: 2)
        try writer.write(samples.map(pcm16))
        try writer.close()
    }
}

/// Plays piano rolls on a General MIDI piano with FluidSynth, offline.
///
/// Only FluidSynth's synthesiser is used: no audio driver, MIDI driver or
/// shell is started, and its log messages go to standard error (warnings and
/// errors only, prefixed `fluidsynth:`), so standard output stays free for
/// piano-roll text. Only the samples of the piano are read from the
/// soundfont (FluidSynth's dynamic sample loading), so a renderer starts in
/// well under 0.1 s although the GM soundfont is 148 MB.
///
/// Key changes happen on step boundaries: a key that starts sounding is
/// struck (note-on), a key that stops is released (note-off), and a key held
/// across steps keeps ringing. Step boundaries are rounded to whole samples
/// from the total elapsed time, so they do not drift. Not thread-safe: use
/// one renderer per thread.
public final class PianoRenderer {
    /// The Debian soundfont (package fluid-soundfont-gm).
    public static let defaultSoundFontPath = "/usr/share/sounds/sf2/FluidR3_GM.sf2"

    /// The soundfont in use.
    public let soundFontPath: String
    /// Output frames per second.
    public let sampleRate: Int
    /// General MIDI program played (0: acoustic grand piano).
    public let program: Int

    private let settings: OpaquePointer
    private let gain: Float
    private var synth: OpaquePointer
    private var sounding = PianoRollFrame.silent
    private var elapsedSeconds = 0.0
    private var framesRendered = 0

    /// Starts a synthesiser at `sampleRate` and loads the soundfont.
    ///
    /// - Parameters:
    ///   - soundFontPath: a `.sf2` file (default: Debian's FluidR3 GM).
    ///   - sampleRate: 8,000 ... 96,000 Hz (FluidSynth's range).
    ///   - program: the General MIDI program (0 ... 127) on channel 0.
    ///   - gain: FluidSynth's master gain. FluidSynth's own default, 0.2,
    ///     leaves the GM piano quiet (a triad at velocity 80 peaks near
    ///     0.06); at 0.5 a ten-key chord struck at full velocity peaks near
    ///     0.75, so rolls are loud without clipping.
    /// - Throws: `MusicError.soundFontMissing` when no file is at the path,
    ///   `.synthFailed` when FluidSynth refuses the settings or the file.
    public init(soundFontPath: String = PianoRenderer.defaultSoundFontPath, sampleRate: Int = 44_100,
                program: Int = 0, gain: Float = 0.5) throws {
        precondition((0...127).contains(program), "program \(program) is not 0...127")
        routeFluidSynthLogToStandardError
        self.soundFontPath = soundFontPath
        self.sampleRate = sampleRate
        self.program = program

        guard access(soundFontPath, F_OK) == 0 else { throw MusicError.soundFontMissing(path: soundFontPath) }
        guard (8_000...96_000).contains(sampleRate) else {
            throw MusicError.synthFailed("sample rate \(sampleRate) Hz is outside 8000...96000")
        }
        // FluidSynth would hand other files to libinstpatch, whose glib
        // assertions print noise before failing; refuse them here.
        guard Self.looksLikeSoundFont(atPath: soundFontPath) else {
            throw MusicError.synthFailed("'\(soundFontPath)' is not a SoundFont (no RIFF 'sfbk' header)")
        }
        guard let settings = new_fluid_settings() else { throw MusicError.synthFailed("cannot create settings") }
        // Load only the samples of the presets played (the piano), not the
        // whole 148 MB soundfont: a synthesiser starts in under 0.1 s, which
        // lets `reset` start a fresh one. Reverb and chorus stay on
        // (FluidSynth's defaults) for a natural sound.
        fluid_settings_setint(settings, "synth.dynamic-sample-loading", 1)
        guard fluid_settings_setnum(settings, "synth.sample-rate", Double(sampleRate)) == FLUID_OK else {
            delete_fluid_settings(settings)
            throw MusicError.synthFailed("sample rate \(sampleRate) Hz refused")
        }
        self.settings = settings
        self.gain = gain
        do {
            synth = try Self.startSynth(settings: settings, soundFontPath: soundFontPath, program: program, gain: gain)
        } catch {
            delete_fluid_settings(settings)
            throw error
        }
    }

    /// Whether the file starts like a SoundFont 2/3: `RIFF`, a size, `sfbk`.
    private static func looksLikeSoundFont(atPath path: String) -> Bool {
        guard let file = fopen(path, "rb") else { return false }
        defer { fclose(file) }
        var header = [UInt8](repeating: 0, count: 12)
        guard fread(&header, 1, 12, file) == 12 else { return false }
        return header[0..<4].elementsEqual("RIFF".utf8) && header[8..<12].elementsEqual("sfbk".utf8)
    }

    /// A synthesiser with the soundfont loaded and `program` on channel 0.
    private static func startSynth(settings: OpaquePointer, soundFontPath: String, program: Int,
                                   gain: Float) throws -> OpaquePointer {
        guard let synth = new_fluid_synth(settings) else { throw MusicError.synthFailed("cannot create the synthesiser") }
        guard fluid_synth_sfload(synth, soundFontPath, 1) != FLUID_FAILED else {
            delete_fluid_synth(synth)
            throw MusicError.synthFailed("cannot load soundfont '\(soundFontPath)'")
        }
        fluid_synth_set_gain(synth, gain)
        fluid_synth_program_change(synth, 0, Int32(program))
        return synth
    }

    deinit {
        delete_fluid_synth(synth)
        delete_fluid_settings(settings)
    }

    /// Renders `frames`, `secondsPerStep` each, then `releaseSeconds` more so
    /// the last notes and the reverb die away. Starts from silence: a
    /// renderer that has played before is `reset` first, so the samples
    /// depend only on the arguments.
    ///
    /// - Precondition: `secondsPerStep` > 0, `releaseSeconds` ≥ 0,
    ///   1 ≤ `velocity` ≤ 127.
    public func render(_ frames: [PianoRollFrame], secondsPerStep: Double, velocity: Int = 80,
                       releaseSeconds: Double = 1) -> RenderedAudio {
        if framesRendered > 0 || !sounding.isSilent { reset() }
        var samples: [Float] = []
        let total = (Double(frames.count) * secondsPerStep + max(0, releaseSeconds)) * Double(sampleRate)
        if total.isFinite && total < 1e9 { samples.reserveCapacity(2 * Int(total) + 2) }
        for frame in frames {
            renderStep(frame, secondsPerStep: secondsPerStep, velocity: velocity, into: &samples)
        }
        renderRelease(seconds: releaseSeconds, into: &samples)
        return RenderedAudio(samples: samples, sampleRate: sampleRate)
    }

    /// Streaming: plays one step and appends its interleaved stereo samples
    /// to `samples`. Keys held from the previous step keep sounding.
    ///
    /// - Precondition: `secondsPerStep` > 0, 1 ≤ `velocity` ≤ 127.
    public func renderStep(_ frame: PianoRollFrame, secondsPerStep: Double, velocity: Int = 80,
                           into samples: inout [Float]) {
        precondition(secondsPerStep.isFinite && secondsPerStep > 0, "step must be positive")
        precondition((1...127).contains(velocity), "velocity \(velocity) is not 1...127")
        for note in sounding.subtracting(frame).notes { fluid_synth_noteoff(synth, 0, Int32(note)) }
        for note in frame.subtracting(sounding).notes { fluid_synth_noteon(synth, 0, Int32(note), Int32(velocity)) }
        sounding = frame
        advance(by: secondsPerStep, into: &samples)
    }

    /// Streaming: releases every key and appends `seconds` of the sound
    /// dying away.
    public func renderRelease(seconds: Double = 1, into samples: inout [Float]) {
        for note in sounding.notes { fluid_synth_noteoff(synth, 0, Int32(note)) }
        sounding = .silent
        if seconds > 0 { advance(by: seconds, into: &samples) }
    }

    /// Silences everything at once (voices, reverb and chorus) and restarts
    /// the clock, for a new, unrelated rendering: the next samples are
    /// exactly those a new renderer would make.
    public func reset() {
        // FluidSynth has no call that clears the reverb and chorus lines and
        // its part-rendered block (fluid_synth_system_reset even leaves the
        // voices sounding), so a fresh synthesiser is started; with dynamic
        // sample loading that takes well under 0.1 s. It cannot fail where
        // the first start succeeded, short of the soundfont being removed:
        // then the old synthesiser is kept, silenced.
        if let fresh = try? Self.startSynth(settings: settings, soundFontPath: soundFontPath, program: program, gain: gain) {
            delete_fluid_synth(synth)
            synth = fresh
        } else {
            fluid_synth_all_sounds_off(synth, -1)
        }
        sounding = .silent
        elapsedSeconds = 0
        framesRendered = 0
    }

    private func advance(by seconds: Double, into samples: inout [Float]) {
        elapsedSeconds += seconds
        let target = Int((elapsedSeconds * Double(sampleRate)).rounded())
        var frames = target - framesRendered
        // FluidSynth renders in blocks; ask for bounded pieces.
        let block = 4096
        while frames > 0 {
            let count = min(frames, block)
            let start = samples.count
            samples.append(contentsOf: repeatElement(0, count: 2 * count))
            samples.withUnsafeMutableBufferPointer { buffer in
                let base = UnsafeMutableRawPointer(buffer.baseAddress! + start)
                // Interleaved: left at even indices, right at odd, stride 2.
                _ = fluid_synth_write_float(synth, Int32(count), base, 0, 2, base, 1, 2)
            }
            frames -= count
            framesRendered += count
        }
    }
}

/// FluidSynth's default logger prints every level, including information
/// messages; keep warnings and errors, on standard error, once per process.
private let routeFluidSynthLogToStandardError: Void = {
    let toStandardError: fluid_log_function_t = { _, message, _ in
        guard let message else { return }
        fputs("fluidsynth: ", stderr)
        fputs(message, stderr)
        fputs("\n", stderr)
    }
    for level in [FLUID_PANIC, FLUID_ERR, FLUID_WARN] {
        fluid_set_log_function(Int32(level.rawValue), toStandardError, nil)
    }
    for level in [FLUID_INFO, FLUID_DBG] {
        fluid_set_log_function(Int32(level.rawValue), nil, nil)
    }
}()
