import XCTest
@testable import SequnetEngine

/// Each codec owns its data's facts; a model gets the codec its network's
/// inputs and outputs call for.
final class CodecTests: XCTestCase {
    func testAudioModelsGetTheMuLawCodec() throws {
        let config = SeqUNetConfig(features: 4, levels: 2, depth: 1, kernelSize: 3)
        let codec = try Codecs.codec(for: config)
        XCTAssertTrue(codec is MuLawAudio)
        XCTAssertEqual(codec.stepsPerSecond, 16_000)
        XCTAssertEqual(codec.paddingInput, 128, "the reference pads a short prompt with silence")
    }

    func testPianoKeysAreMIDINotes21To108() {
        XCTAssertEqual(PianoRoll.key(ofMIDINote: 21), 0)
        XCTAssertEqual(PianoRoll.key(ofMIDINote: 60), 39)   // middle C
        XCTAssertEqual(PianoRoll.key(ofMIDINote: 108), 87)
        XCTAssertNil(PianoRoll.key(ofMIDINote: 20))
        XCTAssertNil(PianoRoll.key(ofMIDINote: 109))
        XCTAssertEqual(PianoRoll.midiNote(ofKey: 87), 108)
        XCTAssertEqual(PianoRoll().input, .multiHot(keys: 88))
        XCTAssertEqual(PianoRoll().output, .independentSigmoids(keys: 88))
    }

    func testAPianoRollFrameHoldsTheNotesItSounds() {
        let (frame, outside) = PianoRoll.frame(sounding: [60, 64, 67, 12])
        XCTAssertEqual(frame.count, 88)
        XCTAssertEqual(frame.reduce(0, +), 3)
        XCTAssertEqual(outside, [12])
        XCTAssertEqual(PianoRoll.notes(in: frame), [60, 64, 67])
    }

    func testAVocabularyIndexesSymbolsInOrderOfFirstSight() {
        let vocabulary = Vocabulary(firstSeenIn: ["the", "cat", "the", "<eos>", "cat", "sat"])
        XCTAssertEqual(vocabulary.symbols, ["the", "cat", "<eos>", "sat"])
        XCTAssertEqual(vocabulary.token(of: "<eos>"), 2)
        XCTAssertNil(vocabulary.token(of: "dog"))
        let codec = TokenCodec(vocabulary: vocabulary)
        XCTAssertEqual(codec.encode(["sat", "the"]), [3, 0])
        XCTAssertNil(codec.encode(["sat", "dog"]))
        XCTAssertEqual(codec.decode([1, 9, 3]), ["cat", "sat"])
        XCTAssertEqual(codec.output, .categorical(classes: 4))
    }

    func testBernoulliDrawsFollowEachKeysSigmoid() {
        // Key 0: logit 0 (p = 1/2); key 1: logit ln 3 (p = 3/4); key 2: far negative.
        let logits: [Float] = [0, log(3), -30]
        let sampler = BernoulliSampler(temperature: 1, seed: 11)
        var counts = [0, 0, 0]
        var frame = [Float](repeating: 0, count: 3)
        let n = 20_000
        logits.withUnsafeBufferPointer { l in
            frame.withUnsafeMutableBufferPointer { f in
                for _ in 0..<n {
                    sampler.sample(l, into: f)
                    for k in 0..<3 { counts[k] += Int(f[k]) }
                }
            }
        }
        XCTAssertEqual(Double(counts[0]) / Double(n), 0.5, accuracy: 0.015)
        XCTAssertEqual(Double(counts[1]) / Double(n), 0.75, accuracy: 0.015)
        XCTAssertEqual(counts[2], 0)
    }

    func testBernoulliAtTemperatureZeroTakesThePositiveLogits() {
        let logits: [Float] = [0.1, -0.1, 5, -5]
        var frame = [Float](repeating: 9, count: 4)
        let sounding = logits.withUnsafeBufferPointer { l in
            frame.withUnsafeMutableBufferPointer { BernoulliSampler(temperature: 0, seed: 1).sample(l, into: $0) }
        }
        XCTAssertEqual(frame, [1, 0, 1, 0])
        XCTAssertEqual(sounding, 2)
    }
}
