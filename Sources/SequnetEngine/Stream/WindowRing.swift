/// The last `taps` vectors of one layer's input, for each stream of a batch,
/// always readable as one contiguous window per stream (oldest first)
/// without copying.
///
/// Each stream keeps `2*taps` slots and writes each new vector twice, at slot
/// `w` and `w + taps`; its window is then slots `w+1 ... w+taps`. The streams'
/// rings lie `streamStride` floats apart and share the write slot, so one
/// batched product reads every stream's window at a fixed stride.
struct WindowRing {
    let base: UnsafeMutablePointer<Float>
    let dimension: Int
    let taps: Int
    let streams: Int
    private(set) var writeSlot = 0

    /// `base` must hold `WindowRing.floats(dimension:taps:streams:)` floats.
    init(base: UnsafeMutablePointer<Float>, dimension: Int, taps: Int, streams: Int) {
        self.base = base
        self.dimension = dimension
        self.taps = taps
        self.streams = streams
    }

    static func floats(dimension: Int, taps: Int, streams: Int) -> Int { streams * 2 * taps * dimension }

    /// Floats from one stream's ring to the next's.
    var streamStride: Int { 2 * taps * dimension }

    /// Appends one vector per stream, `vectors + b * stride` for stream b, dropping the oldest.
    @inline(__always)
    mutating func push(_ vectors: UnsafePointer<Float>, stride: Int) {
        advance()
        for b in 0..<streams {
            let ring = base + b * streamStride, vector = vectors + b * stride
            (ring + writeSlot * dimension).update(from: vector, count: dimension)
            (ring + (writeSlot + taps) * dimension).update(from: vector, count: dimension)
        }
    }

    /// Appends, per stream, the concatenation `first[b] ++ second[b]` (the two
    /// lengths sum to `dimension`; both lie `stride` floats apart by stream).
    @inline(__always)
    mutating func push(_ first: UnsafePointer<Float>, count firstCount: Int, _ second: UnsafePointer<Float>, stride: Int) {
        advance()
        let secondCount = dimension - firstCount
        for b in 0..<streams {
            var slot = writeSlot
            while slot < 2 * taps {
                let p = base + b * streamStride + slot * dimension
                p.update(from: first + b * stride, count: firstCount)
                (p + firstCount).update(from: second + b * stride, count: secondCount)
                slot += taps
            }
        }
    }

    @inline(__always)
    private mutating func advance() {
        writeSlot += 1
        if writeSlot == taps { writeSlot = 0 }
    }

    /// Stream 0's last `taps` vectors, oldest first (`taps * dimension`
    /// floats); stream b's start `b * streamStride` floats further.
    @inline(__always)
    var window: UnsafePointer<Float> { UnsafePointer(base + (writeSlot + 1) * dimension) }

    /// Back to the first slot; the caller zeroes the memory.
    mutating func rewind() { writeSlot = 0 }

    /// Back to a recorded slot (`NetworkStateSnapshot`); the caller restores the memory.
    mutating func restore(writeSlot slot: Int) {
        precondition((0..<taps).contains(slot))
        writeSlot = slot
    }
}
