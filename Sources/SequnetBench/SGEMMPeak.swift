import COpenBLAS
import Foundation

/// The machine's fp32 compute ceiling as OpenBLAS reaches it: a large square
/// sgemm on a given number of threads. Stepping a batch of streams is a
/// matrix-matrix product per tick, so this, divided by two flops per
/// multiply-add, caps any fp32 engine's aggregate samples per second.
public enum SGEMMPeak {
    /// Median GFLOP/s of `repeats` products `[n x n] * [n x n]` on `threads`
    /// OpenBLAS threads, after one warm-up product. Leaves OpenBLAS on one thread.
    public static func measure(threads: Int, size n: Int = 2048, repeats: Int = 5) -> Double {
        let a = [Float](unsafeUninitializedCapacity: n * n) { buffer, count in
            for i in 0..<n * n { buffer[i] = Float(i % 17) * 0.01 - 0.08 }
            count = n * n
        }
        var c = [Float](repeating: 0, count: n * n)
        setBLASThreads(threads)
        defer { setBLASThreads(1) }
        var rates: [Double] = []
        for repeatIndex in 0...repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { a in
                c.withUnsafeMutableBufferPointer { c in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n),
                                1, a.baseAddress, Int32(n), a.baseAddress, Int32(n), 0, c.baseAddress, Int32(n))
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if repeatIndex > 0 { rates.append(2 * Double(n) * Double(n) * Double(n) / seconds / 1e9) }
        }
        return rates.sorted()[rates.count / 2]
    }
}
