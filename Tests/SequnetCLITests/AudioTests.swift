import Foundation
import SequnetAudio
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// SequnetAudio on its own: the pieces the command's behaviour rests on.
final class AudioTests: XCTestCase {
    func temporaryFile(_ name: String) throws -> String {
        try CLI.temporaryDirectory().appendingPathComponent(name).path
    }

    func testWAVRoundTripKeepsSamplesAndLayout() throws {
        let path = try temporaryFile("round.wav")
        let samples: [Int16] = [0, 1, -1, 32767, -32768, 1234, -4321]
        let writer = try WAVWriter(path: path, sampleRate: 16_000)
        try writer.write(samples)
        try writer.close()
        try writer.close()   // idempotent
        let audio = try readMonoAudio(atPath: path)
        XCTAssertEqual(audio.sampleRate, 16_000)
        XCTAssertEqual(audio.samples.map { Int16(($0 * 32768).rounded()) }, samples)
    }

    func testStereoIsMixedToMonoByAveraging() throws {
        let path = try temporaryFile("stereo.wav")
        let writer = try WAVWriter(path: path, sampleRate: 8000, channels: 2)
        try writer.write([16384, 0, -8192, -8192])
        try writer.close()
        let audio = try readMonoAudio(atPath: path)
        XCTAssertEqual(audio.sourceChannels, 2)
        XCTAssertEqual(audio.samples, [0.25, -0.25])
    }

    func testResamplingChangesLengthByTheRateRatio() throws {
        let input = (0..<44_100).map { sin(Float($0) * 0.01) }
        let output = try resample(input, from: 44_100, to: 16_000, quality: .medium)
        XCTAssertEqual(output.count, 16_000, accuracy: 1)
        XCTAssertEqual(try resample(input, from: 16_000, to: 16_000), input)
        XCTAssertThrowsError(try resample(input, from: 1, to: 16_000))   // ratio beyond 256
    }

    func testNonAudioIsAOneLineError() throws {
        let path = try temporaryFile("text.wav")
        try "just text".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try readMonoAudio(atPath: path)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("text.wav"), text)
            XCTAssertFalse(text.contains("\n"), text)
        }
    }

    func testRawOutputReportsClosedPipeAndFullDisk() throws {
        ignoreBrokenPipeSignal()
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        close(fds[0])   // no reader
        let piped = RawOutput.wrapping(fileDescriptor: fds[1], name: "pipe")
        defer { close(fds[1]) }
        let samples: [Int16] = [1, 2, 3]
        XCTAssertThrowsError(try samples.withUnsafeBufferPointer { try piped.write(samples: $0) }) { error in
            guard case AudioError.outputClosed = error else { return XCTFail("\(error)") }
        }

        let full = try RawOutput.open(path: "/dev/full")
        XCTAssertThrowsError(try samples.withUnsafeBufferPointer { try full.write(samples: $0) }) { error in
            guard case AudioError.writeFailed = error else { return XCTFail("\(error)") }
        }
    }

    func testPCM16ScaleAndClipping() {
        XCTAssertEqual(pcm16(1), 32767)
        XCTAssertEqual(pcm16(-1), -32767)
        XCTAssertEqual(pcm16(2), 32767)
        XCTAssertEqual(pcm16(-2), -32768)
        XCTAssertEqual(pcm16(.nan), 0)
    }
}
