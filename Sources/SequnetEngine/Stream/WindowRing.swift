/// The last `taps` vectors of one layer's input, always readable as one
/// contiguous window (oldest first) without copying.
///
/// It keeps `2*taps` slots and writes each new vector twice, at slot `w` and
/// `w + taps`; the window is then slots `w+1 ... w+taps`.
struct WindowRing {
    let base: UnsafeMutablePointer<Float>
    let dimension: Int
    let taps: Int
    private(set) var writeSlot = 0

    /// `base` must hold `WindowRing.floats(dimension:taps:)` floats.
    init(base: UnsafeMutablePointer<Float>, dimension: Int, taps: Int) {
        self.base = base
        self.dimension = dimension
        self.taps = taps
    }

    static func floats(dimension: Int, taps: Int) -> Int { 2 * taps * dimension }

    /// Appends `vector`, dropping the oldest.
    @inline(__always)
    mutating func push(_ vector: UnsafePointer<Float>) {
        advance()
        base.advanced(by: writeSlot * dimension).update(from: vector, count: dimension)
        base.advanced(by: (writeSlot + taps) * dimension).update(from: vector, count: dimension)
    }

    /// Appends the concatenation `first ++ second` (the two lengths sum to `dimension`).
    @inline(__always)
    mutating func push(_ first: UnsafePointer<Float>, count firstCount: Int, _ second: UnsafePointer<Float>) {
        advance()
        let secondCount = dimension - firstCount
        var slot = writeSlot
        while slot < 2 * taps {
            let p = base.advanced(by: slot * dimension)
            p.update(from: first, count: firstCount)
            p.advanced(by: firstCount).update(from: second, count: secondCount)
            slot += taps
        }
    }

    @inline(__always)
    private mutating func advance() {
        writeSlot += 1
        if writeSlot == taps { writeSlot = 0 }
    }

    /// The last `taps` vectors, oldest first: `taps * dimension` floats.
    @inline(__always)
    var window: UnsafePointer<Float> { UnsafePointer(base.advanced(by: (writeSlot + 1) * dimension)) }

    /// The newest vector.
    @inline(__always)
    var newest: UnsafePointer<Float> { UnsafePointer(base.advanced(by: (writeSlot + taps) * dimension)) }

    /// Back to the first slot; the caller zeroes the memory.
    mutating func rewind() { writeSlot = 0 }
}
