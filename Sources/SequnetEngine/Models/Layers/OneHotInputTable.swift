import SequnetCheckpoint

/// A conv over one-hot inputs, `[outputs, classes, taps]` in the reference,
/// stored as `[taps][classes][outputs]`: the conv of a one-hot window is then
/// the sum of one contiguous column per tap, picked by that tap's class.
struct OneHotInputTable: @unchecked Sendable {
    let outputs: Int
    let classes: Int
    let taps: Int
    let columns: FloatBuffer

    init(weight: Tensor) {
        outputs = weight.shape[0]
        classes = weight.shape[1]
        taps = weight.shape[2]
        columns = FloatBuffer(count: outputs * classes * taps)
        for (reference, stored) in Self.layout(outputs: outputs, classes: classes, taps: taps) {
            columns[stored] = weight.values[reference]
        }
    }

    /// The reference's `[outputs, classes, taps]` weight.
    func referenceWeight() -> [Float] {
        var weight = [Float](repeating: 0, count: outputs * classes * taps)
        for (reference, stored) in Self.layout(outputs: outputs, classes: classes, taps: taps) {
            weight[reference] = columns[stored]
        }
        return weight
    }

    /// The column of `cls` at tap `tap` (`outputs` floats).
    @inline(__always)
    func column(tap: Int, class cls: Int) -> UnsafePointer<Float> {
        UnsafePointer(columns.pointer + (tap * classes + cls) * outputs)
    }

    /// Pairs of (reference index, stored index), every element once.
    private static func layout(outputs: Int, classes: Int, taps: Int) -> [(Int, Int)] {
        var pairs: [(Int, Int)] = []
        pairs.reserveCapacity(outputs * classes * taps)
        for o in 0..<outputs {
            for cls in 0..<classes {
                for j in 0..<taps { pairs.append(((o * classes + cls) * taps + j, (j * classes + cls) * outputs + o)) }
            }
        }
        return pairs
    }
}
