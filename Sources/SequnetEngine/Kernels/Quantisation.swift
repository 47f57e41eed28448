import SequnetCheckpoint

/// Rounding weights to a reduced precision: the one definition the packed
/// matrices, checkpoint conversion and the tests share.
public enum Quantisation {
    /// The bfloat16 nearest `value` (ties to even), as its 16 bits.
    @inline(__always)
    public static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// `value` rounded to the nearest bfloat16.
    public static func bfloat16(_ value: Float) -> Float { Float(bitPattern: UInt32(bfloat16Bits(value)) << 16) }

    /// The symmetric int8 scale of a row: its largest magnitude maps to 127.
    public static func int8Scale<C: Collection>(_ row: C) -> Float where C.Element == Float {
        row.reduce(0) { max($0, abs($1)) } / 127
    }

    /// `value / scale` rounded to the nearest integer in -127...127 (0 for a zero scale).
    @inline(__always)
    public static func int8Code(_ value: Float, scale: Float) -> Int8 {
        scale == 0 ? 0 : Int8(max(-127, min(127, (value / scale).rounded())))
    }

    /// `tensor` rounded to `precision` as a stored tensor: bf16 values, or
    /// int8 codes with one scale per slice along `axis` (a conv's output
    /// channels). fp32 returns it unchanged. A tensor already in `precision`
    /// is returned as it is, so converting twice changes nothing.
    public static func quantised(_ tensor: Tensor, to precision: MatrixPrecision, axis: Int) -> Tensor {
        switch precision {
        case .fp32:
            return tensor
        case .bf16:
            if tensor.dtype == .bfloat16 { return tensor }
            return Tensor(shape: tensor.shape, bfloat16Values: tensor.values.map(bfloat16))
        case .int8:
            if tensor.dtype == .int8 && tensor.scaleAxis == axis { return tensor }
            let inner = tensor.stride(of: axis), size = tensor.shape[axis], outer = tensor.count / (inner * size)
            var scales = [Float](repeating: 0, count: size)
            for o in 0..<outer {
                for s in 0..<size {
                    let start = (o * size + s) * inner
                    scales[s] = max(scales[s], int8Scale(tensor.values[start..<(start + inner)]) )
                }
            }
            var values = tensor.values
            for i in values.indices {
                let scale = scales[(i / inner) % size]
                values[i] = Float(int8Code(values[i], scale: scale)) * scale
            }
            return Tensor(shape: tensor.shape, int8Values: values, scales: scales, axis: axis)
        }
    }
}
