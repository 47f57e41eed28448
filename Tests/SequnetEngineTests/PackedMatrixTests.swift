import XCTest
@testable import SequnetEngine

/// `PackedMatrix`: y[b] += W x[b] for a batch of columns, each column the
/// same bytes as a product of its own.
final class PackedMatrixTests: XCTestCase {
    func matrix(rows: Int, columns: Int) -> [Float] {
        var rng = SeededGenerator(seed: UInt64(rows * 1000 + columns))
        return (0..<(rows * columns)).map { _ in rng.nextUnitFloat() - 0.5 }
    }

    func testProductMatchesTheRowMajorDefinition() {
        for (rows, columns) in [(1, 1), (31, 7), (32, 32), (45, 17), (96, 3)] {
            let w = matrix(rows: rows, columns: columns)
            let packed = PackedMatrix(rowMajor: w, rows: rows, columns: columns)
            XCTAssertEqual(packed.rowMajor(), w)
            let x = (0..<columns).map { Float($0 % 5) - 2 }
            var y = [Float](repeating: 1, count: rows)
            packed.multiplyAccumulate(x, into: &y)
            for r in 0..<rows {
                let expected = 1 + (0..<columns).reduce(Float(0)) { $0 + w[r * columns + $1] * x[$1] }
                XCTAssertEqual(y[r], expected, accuracy: 1e-5)
            }
        }
    }

    func testEachColumnOfABatchIsBitIdenticalToItsOwnProduct() {
        let rows = 70, columns = 23, batch = 5, xStride = 29, yStride = 75
        let packed = PackedMatrix(rowMajor: matrix(rows: rows, columns: columns), rows: rows, columns: columns)
        let xs = (0..<(batch * xStride)).map { Float(($0 * 7) % 11) * 0.1 - 0.5 }
        var batched = [Float](repeating: 0.25, count: batch * yStride)
        xs.withUnsafeBufferPointer { x in
            batched.withUnsafeMutableBufferPointer { y in
                packed.multiplyAccumulate(x.baseAddress!, into: y.baseAddress!, batch: batch, xStride: xStride, yStride: yStride)
            }
        }
        for b in 0..<batch {
            var single = [Float](repeating: 0.25, count: rows)
            packed.multiplyAccumulate(Array(xs[(b * xStride)...]), into: &single)
            XCTAssertEqual(Array(batched[(b * yStride)..<(b * yStride + rows)]), single, "column \(b)")
            // Outside the rows, the strides' gaps are untouched.
            XCTAssertEqual(Set(batched[(b * yStride + rows)..<((b + 1) * yStride)]), [0.25])
        }
    }

    func testByteCostsComeFromThePrecision() {
        let packed = PackedMatrix(rowMajor: matrix(rows: 33, columns: 10), rows: 33, columns: 10)
        XCTAssertEqual(packed.precision, .fp32)
        XCTAssertEqual(packed.bytesPerProduct, 33 * 10 * 4)
        XCTAssertEqual(packed.storageBytes, 64 * 10 * 4, "two panels of 32 rows, the second padded")
        XCTAssertEqual(packed.multiplyAdds, 330)
    }
}

private extension PackedMatrix {
    func multiplyAccumulate(_ x: [Float], into y: inout [Float]) {
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in multiplyAccumulate(xp.baseAddress!, into: yp.baseAddress!) }
        }
    }
}
