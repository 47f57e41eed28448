import XCTest
@testable import SequnetEngine

/// mu-law values stated in SPEC.md.
final class MuLawAudioTests: XCTestCase {
    func testEncodeMatchesSpec() {
        let inputs: [Float] = [-1, -0.5, -1e-4, 0, 1e-4, 0.5, 0.999, 1]
        XCTAssertEqual(inputs.map(MuLawAudio.encode), [0, 16, 127, 128, 128, 239, 255, 255])
    }

    func testDecodeMatchesSpec() {
        XCTAssertEqual(MuLawAudio.decode(0), -1, accuracy: 1e-6)
        XCTAssertEqual(MuLawAudio.decode(127), -8.6212e-05, accuracy: 1e-8)
        XCTAssertEqual(MuLawAudio.decode(128), 8.6213e-05, accuracy: 1e-8)
        XCTAssertEqual(MuLawAudio.decode(255), 1, accuracy: 1e-6)
    }

    func testSilenceIsClass128() {
        XCTAssertEqual(MuLawAudio.encode(0), MuLawAudio.silence)
    }

    func testEveryClassSurvivesDecodeThenEncode() {
        for c in 0...255 { XCTAssertEqual(MuLawAudio.encode(MuLawAudio.decode(UInt8(c))), UInt8(c)) }
    }
}
