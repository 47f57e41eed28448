import XCTest
@testable import SequnetCheckpoint
@testable import SequnetEngine

/// Reduced precisions: bf16 weights and int8 weights with one scale per
/// output row, both multiplied against float32 activations. Any checkpoint
/// runs in any precision; a converted file makes the same model as the
/// original loaded in that precision; the thread count never changes a byte.
final class PrecisionTests: XCTestCase {
    func randomMatrix(rows: Int, columns: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<(rows * columns)).map { _ in (rng.nextUnitFloat() - 0.5) * Float(1 + seed % 3) }
    }

    func testBF16WeightsAreTheNearestBFloat16() {
        let rows = 45, columns = 19
        let w = randomMatrix(rows: rows, columns: columns, seed: 1)
        let packed = PackedMatrix(rowMajor: w, rows: rows, columns: columns, precision: .bf16)
        for (original, stored) in zip(w, packed.rowMajor()) {
            // bf16 keeps 8 significant bits: half an ulp is at most 2^-8 of the value.
            XCTAssertLessThanOrEqual(abs(stored - original), abs(original) * 0x1p-8)
            XCTAssertEqual(stored.bitPattern & 0xFFFF, 0, "the low half of a bf16 value is zero")
        }
        XCTAssertEqual(Quantisation.bfloat16(1 + 0x1p-8), 1, "a tie rounds to even")
        XCTAssertEqual(Quantisation.bfloat16(1 + 3 * 0x1p-8), 1 + 0x1p-6, "a tie rounds to even")
        XCTAssertEqual(packed.bytesPerProduct, rows * columns * 2)
    }

    func testInt8WeightsAreWithinOneQuantisationStepOfTheOriginal() {
        let rows = 70, columns = 33
        var w = randomMatrix(rows: rows, columns: columns, seed: 2)
        for c in 0..<columns { w[5 * columns + c] = 0 }   // an all-zero row
        let packed = PackedMatrix(rowMajor: w, rows: rows, columns: columns, precision: .int8)
        let stored = packed.rowMajor()
        for r in 0..<rows {
            let row = w[(r * columns)..<((r + 1) * columns)]
            let step = row.map(abs).max()! / 127
            for c in 0..<columns {
                XCTAssertLessThanOrEqual(abs(stored[r * columns + c] - w[r * columns + c]), step,
                                         "row \(r) column \(c)")
            }
            // The largest magnitude of each row is represented exactly, up to float rounding.
            if step > 0 { XCTAssertEqual(stored[(r * columns)..<((r + 1) * columns)].map(abs).max()!, step * 127, accuracy: step * 1e-5) }
        }
        XCTAssertEqual(Set(stored[(5 * columns)..<(6 * columns)]), [0])
        XCTAssertEqual(packed.bytesPerProduct, rows * columns + rows * 4, "codes and one scale per row")
    }

    func testReducedPrecisionProductsAreTheProductOfTheStoredWeights() {
        for precision in MatrixPrecision.allCases {
            let rows = 37, columns = 29
            let packed = PackedMatrix(rowMajor: randomMatrix(rows: rows, columns: columns, seed: 3),
                                      rows: rows, columns: columns, precision: precision)
            let stored = packed.rowMajor()
            let x = (0..<columns).map { Float($0 % 7) * 0.25 - 0.75 }
            var y = [Float](repeating: 0.5, count: rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { packed.multiplyAccumulate(xp.baseAddress!, into: $0.baseAddress!) }
            }
            for r in 0..<rows {
                let exact = 0.5 + (0..<columns).reduce(0.0) { $0 + Double(stored[r * columns + $1]) * Double(x[$1]) }
                XCTAssertEqual(Double(y[r]), exact, accuracy: 1e-5, "\(precision) row \(r)")
            }
        }
    }

    /// What int8 computes: the stored codes against the input rounded to
    /// 16-bit codes (its largest magnitude to 16,383), summed exactly.
    func int8Expectation(_ stored: [Float], rows: Int, columns: Int, x: [Float], base: Float) -> [Double] {
        let largest = x.map { abs(Double($0)) }.max()!
        let codes = x.map { ($0 * Float(16383 / largest)).rounded(.toNearestOrEven) }
        return (0..<rows).map { r in
            Double(base) + (0..<columns).reduce(0.0) { $0 + Double(stored[r * columns + $1]) * Double(codes[$1]) } * largest / 16383
        }
    }

    func testInt8ProductsRoundTheInputTo16BitCodesAndSumThemExactly() {
        let rows = 70, columns = 333
        let packed = PackedMatrix(rowMajor: randomMatrix(rows: rows, columns: columns, seed: 11),
                                  rows: rows, columns: columns, precision: .int8)
        let stored = packed.rowMajor()
        let x = randomMatrix(rows: 1, columns: columns, seed: 12)
        var y = [Float](repeating: 0.5, count: rows)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { packed.multiplyAccumulate(xp.baseAddress!, into: $0.baseAddress!) }
        }
        let expected = int8Expectation(stored, rows: rows, columns: columns, x: x, base: 0.5)
        let exact = (0..<rows).map { r in 0.5 + (0..<columns).reduce(0.0) { $0 + Double(stored[r * columns + $1]) * Double(x[$1]) } }
        let largest = Double(x.map(abs).max()!)
        for r in 0..<rows {
            XCTAssertEqual(Double(y[r]), expected[r], accuracy: 1e-5, "row \(r)")
            // Rounding the input moves each term by at most half a code.
            let bound = (0..<columns).reduce(0.0) { $0 + abs(Double(stored[r * columns + $1])) } * largest / 16383 / 2
            XCTAssertLessThanOrEqual(abs(Double(y[r]) - exact[r]), bound + 1e-5, "row \(r)")
        }
    }

    func testInt8SumsThatWouldOverflowInt32AreStillExact() {
        // 3,000 columns of weight 127/127 against inputs all at the largest
        // code: 3,000 x 127 x 16,383 is 2.9 times int32's range.
        let rows = 32, columns = 3000
        let packed = PackedMatrix(rowMajor: [Float](repeating: 1, count: rows * columns), rows: rows, columns: columns,
                                  precision: .int8)
        let x = [Float](repeating: -2, count: columns)
        var y = [Float](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { packed.multiplyAccumulate(xp.baseAddress!, into: $0.baseAddress!) }
        }
        for r in 0..<rows { XCTAssertEqual(y[r], -6000, accuracy: 6000 * 1e-6, "row \(r)") }
    }

    func testInt8HandlesZeroAndNonFiniteInputsWithoutTrapping() {
        let rows = 32, columns = 20
        let packed = PackedMatrix(rowMajor: randomMatrix(rows: rows, columns: columns, seed: 4), rows: rows, columns: columns,
                                  precision: .int8)
        for (x, finite) in [([Float](repeating: 0, count: columns), true),
                            ([Float](repeating: 1, count: columns - 1) + [.infinity], false),
                            ([Float](repeating: 1, count: columns - 1) + [.nan], false)] {
            var y = [Float](repeating: 0.25, count: rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { packed.multiplyAccumulate(xp.baseAddress!, into: $0.baseAddress!) }
            }
            if finite { XCTAssertEqual(y, [Float](repeating: 0.25, count: rows), "a zero input adds nothing") }
        }
    }

    func testSafetensorsStoreBF16AndInt8WithTheirScales() throws {
        let weight = Tensor(shape: [3, 2, 4], values: randomMatrix(rows: 6, columns: 4, seed: 4))
        let transposed = Tensor(shape: [2, 3, 4], values: randomMatrix(rows: 6, columns: 4, seed: 5))
        var dict = StateDict(format: .safetensors)
        dict.set("a.weight", Quantisation.quantised(weight, to: .bf16, axis: 0))
        dict.set("b.weight", Quantisation.quantised(weight, to: .int8, axis: 0))
        dict.set("c.weight", Quantisation.quantised(transposed, to: .int8, axis: 1))
        dict.set("c.bias", Tensor(shape: [3], values: [1, 2, 3]))
        let bytes = try encodeSafetensors(dict)
        let back = try bytes.withUnsafeBytes { try readCheckpoint(bytes: $0) }
        XCTAssertEqual(back.names, ["a.weight", "b.weight", "c.weight", "c.bias"], "scales fold into their tensors")
        for name in dict.names { XCTAssertEqual(back.tensors[name], dict.tensors[name], name) }
        XCTAssertEqual(back.tensors["c.weight"]?.scaleAxis, 1)
        // 2 bytes per bf16 value, 1 per int8 code plus 4 per scale.
        let header = Int(bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        XCTAssertEqual(bytes.count - 8 - header, 24 * 2 + (24 + 3 * 4) + (24 + 3 * 4) + 3 * 4)
    }

    func testAnInt8TensorWithoutItsScalesIsRefused() throws {
        var dict = StateDict(format: .safetensors)
        dict.set("w", Quantisation.quantised(Tensor(shape: [2, 2], values: [1, -2, 3, 4]), to: .int8, axis: 0))
        var bytes = try encodeSafetensors(dict)
        // Rename the scales (in the header, same length) so the int8 tensor has none.
        let name = Array("\"w_scale\"".utf8)
        let at = (0...(bytes.count - name.count)).first { Array(bytes[$0..<($0 + name.count)]) == name }!
        bytes[at + name.count - 2] = UInt8(ascii: "X")
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try readCheckpoint(bytes: $0) }) { error in
            XCTAssertTrue("\(error)".contains("has no float32 scales"), "\(error)")
        }
    }

    func testInt8ScalesAlongAnAxisOfSizeOneReadBack() throws {
        var dict = StateDict(format: .safetensors)
        let t = Quantisation.quantised(Tensor(shape: [4, 1, 3], values: (0..<12).map { Float($0) - 5.5 }), to: .int8, axis: 1)
        dict.set("w", t)
        let back = try encodeSafetensors(dict).withUnsafeBytes { try readCheckpoint(bytes: $0) }
        XCTAssertEqual(back.tensors["w"]?.values, t.values)
        XCTAssertEqual(back.tensors["w"]?.scales, t.scales)
    }

    func testAnInt8TensorWhoseScaleNameIsTakenIsNotWritten() {
        var dict = StateDict(format: .safetensors)
        dict.set("w", Quantisation.quantised(Tensor(shape: [2, 2], values: [1, -2, 3, 4]), to: .int8, axis: 0))
        dict.set("w_scale", Tensor(shape: [2], values: [1, 1]))
        XCTAssertThrowsError(try encodeSafetensors(dict)) { XCTAssertTrue("\($0)".contains("is taken"), "\($0)") }
    }

    /// `convert --precision`: the stored file makes exactly the model the
    /// original makes when loaded in that precision, and converting it again
    /// changes nothing.
    func testAConvertedFileMakesTheSameModelAsLoadingTheOriginalInItsPrecision() throws {
        for name in Fixtures.names {
            let source = try readCheckpoint(atPath: Fixtures.path("\(name).pt"))
            let layers = (try Fixtures.info(name)["layers"] as? Int).map { ["layers_per_block": $0] } ?? [:]
            for precision in [MatrixPrecision.bf16, .int8] {
                let converted = try Model.convertedStateDict(source, hyperparameters: layers, precision: precision)
                let bytes = try encodeSafetensors(converted)
                let file = try bytes.withUnsafeBytes { try readCheckpoint(bytes: $0) }
                let fromFile = try Model(stateDict: file)
                XCTAssertEqual(fromFile.precision, precision, "the file records its precision")
                let direct = try Model(stateDict: source, hyperparameters: layers, precision: precision)
                XCTAssertEqual(logits(fromFile, steps: 300), logits(direct, steps: 300), "\(name) \(precision)")
                let again = try encodeSafetensors(try Model.convertedStateDict(file, precision: precision))
                XCTAssertEqual(again, bytes, "\(name) \(precision): converting twice changes nothing")
            }
        }
    }

    func testTheOutputIsTheSameBytesForAnyNumberOfThreads() throws {
        // Every product shared out, however small: the split is what is under test.
        let saved = RowTeam.minimumSharedWork
        RowTeam.minimumSharedWork = .zero
        defer { RowTeam.minimumSharedWork = saved }
        let config = try ArchitectureSpec.parse("sequnet:features=40,levels=4,depth=2,kernel=5")
        for precision in MatrixPrecision.allCases {
            let model = try Model(randomWeightsFor: config, seed: 7, precision: precision)
            let one = logits(model, steps: 200, threads: 1)
            for threads in [2, 3] {
                XCTAssertEqual(logits(model, steps: 200, threads: threads), one, "\(precision), \(threads) threads")
            }
        }
        let wavenet = try Model(randomWeightsFor: try ArchitectureSpec.parse("wavenet:layers=4,blocks=2,residual=48,dilation=48,skip=64"),
                                seed: 8, precision: .int8)
        XCTAssertEqual(logits(wavenet, steps: 100, threads: 2), logits(wavenet, steps: 100, threads: 1))
    }

    func testQuantisingAnInt8TensorAgainChangesNothingButTheBF16Rounding() throws {
        let t = Quantisation.quantised(Tensor(shape: [2, 3, 1], values: [0.3, -0.1, 0.2, 1, 0.5, -0.25]), to: .int8, axis: 0)
        XCTAssertEqual(Quantisation.quantised(t, to: .int8, axis: 0), t, "already int8 along the same axis")
        XCTAssertEqual(Quantisation.quantised(t, to: .bf16, axis: 0).values, t.values.map(Quantisation.bfloat16))
    }

    /// Every step's logits, the stream fed its own argmax.
    func logits(_ model: Model, steps: Int, threads: Int = 1) -> [Float] {
        let stream = model.makeStream(threads: threads)
        var out: [Float] = []
        var input = 0
        for _ in 0..<steps {
            stream.step(input)
            out += stream.logits
            input = stream.logits.indices.max { stream.logits[$0] < stream.logits[$1] }!
        }
        return out
    }
}
