import Foundation

/// 8-bit mu-law (mu = 255) exactly as the reference computes it.
public enum MuLaw {
    public static let mu: Float = 255
    /// The class of silence.
    public static let silence: UInt8 = 128

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
