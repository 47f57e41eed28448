import Foundation

/// 8-bit mu-law audio at 16 kHz (mu = 255), computed exactly as the
/// reference computes it: the codec of the paper's audio models.
public struct MuLawAudio: Codec {
    public static let mu: Float = 255
    /// Classes of 8-bit mu-law: the network's one-hot input and softmax output size.
    public static let classes = 256
    /// The rate every audio model of the paper is trained at.
    public static let sampleRate = 16_000
    /// The class of silence.
    public static let silence: UInt8 = 128

    public init() {}

    public var description: String { "\(Self.sampleRate) Hz mono, \(Self.classes)-class mu-law" }
    public var input: NetworkInput { .oneHot(classes: Self.classes) }
    public var output: NetworkOutput { .categorical(classes: Self.classes) }
    public var stepName: String { "sample" }
    public var stepsPerSecond: Int? { Self.sampleRate }
    /// The reference pads a short prompt with silence.
    public var paddingInput: Int? { Int(Self.silence) }

    /// Class 0...255 of a sample in [-1, 1] (values outside are clipped).
    @inline(__always)
    public static func encode(_ x: Float) -> UInt8 {
        let clipped = min(max(x, -1), 1)
        let magnitude = log1pf(mu * abs(clipped)) / log1pf(mu)
        let y = clipped < 0 ? -magnitude : (clipped > 0 ? magnitude : 0)
        let cls = ((y + 1) / 2 * mu + 0.5).rounded(.towardZero)
        return UInt8(min(max(cls, 0), 255))
    }

    /// The sample value of class `c`, in [-1, 1].
    @inline(__always)
    public static func decode(_ c: UInt8) -> Float {
        decodeTable[Int(c)]
    }

    private static let decodeTable: [Float] = (0..<256).map { c in
        let y = Float(c) / mu * 2 - 1
        let x = (expf(abs(y) * log1pf(mu)) - 1) / mu
        return y < 0 ? -x : x
    }
}
