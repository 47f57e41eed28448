/// Whether no value is NaN or infinite, as one max over the bits with the
/// sign cleared (exponent all ones is 0x7f800000 and up). It vectorises, so
/// checking 256 logits per sample costs a few dozen instructions next to
/// the model's tens of thousands of multiply-adds. `generate`, `serve` and
/// `score` check every step's logits with it before sampling from them.
@inlinable @inline(__always)
public func allFinite(_ values: UnsafeBufferPointer<Float>) -> Bool {
    values.withMemoryRebound(to: UInt32.self) { bits in
        var largest: UInt32 = 0
        for b in bits { largest = max(largest, b & 0x7fff_ffff) }
        return largest < 0x7f80_0000
    }
}
