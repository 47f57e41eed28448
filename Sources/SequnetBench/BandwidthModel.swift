import Foundation
import SequnetEngine

/// A cache model of the fastest a step could go if reading weights were all
/// it did.
///
/// Weights read every p samples are read again only after every other group
/// has been read p/q times (q its own period, at most once each): that
/// footprint decides which cache serves them, so each group is charged its
/// bytes at the read bandwidth measured, on this machine and in this run,
/// for its footprint. A single bandwidth for all the weights would charge a
/// Seq-U-Net's level-0 weights, which stay in cache, at DRAM speed.
public struct BandwidthBound: Sendable {
    /// One group of weights, read together at one clock period.
    public struct Group: Sendable {
        public let reads: WeightReads
        /// Bytes touched between two reads of this group.
        public let footprintBytes: Int
        /// Read bandwidth measured for a buffer of `footprintBytes`.
        public let bytesPerSecond: Double
    }

    public let groups: [Group]
    /// Steps per second if every group streamed at its measured bandwidth.
    public let samplesPerSecond: Double

    /// Measures the bandwidth for each group's footprint (about a second
    /// each), read by `threads` threads at once, each its own 1/threads of
    /// it, as a `RowTeam` splits a stream's rows: two cores share the L3 and
    /// the memory bus, so two threads rarely read twice as fast as one, and
    /// the bound for two threads is this measurement, not twice one thread's.
    public init(_ reads: [WeightReads], threads: Int = 1) {
        let threads = max(threads, 1)
        var groups: [Group] = []
        var secondsPerSample = 0.0
        for group in reads {
            let footprint = reads.reduce(0.0) { $0 + $1.bytes * min(1, Double(group.periodSamples) / Double($1.periodSamples)) }
            let bytes = max(Int(footprint), 64 << 10)
            let bandwidth = Self.measureReadBandwidth(bytes: bytes, threads: threads)
            groups.append(Group(reads: group, footprintBytes: bytes, bytesPerSecond: bandwidth))
            secondsPerSample += group.bytesPerSample / bandwidth
        }
        self.groups = groups
        samplesPerSecond = 1 / max(secondsPerSample, 1e-15)
    }

    /// Bytes per second for `threads` threads repeatedly summing their own
    /// share of a buffer of `bytes` together, 8 lanes at a time with 4
    /// independent sums (a read-only stream like a matvec's): the best of 5
    /// rounds, each timed from the common start to the last thread's end.
    static func measureReadBandwidth(bytes: Int, threads: Int = 1) -> Double {
        let count = max(bytes / 4 / threads / 32 * 32, 32)   // floats per thread
        let passes = max(3, 200_000_000 / (count * 4 * threads))
        let buffers = (0..<threads).map { _ in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            for i in 0..<count { buffer[i] = Float(i & 7) }
            return buffer
        }
        defer { for buffer in buffers { buffer.deallocate() } }
        var best = 0.0
        for _ in 0..<5 {
            let start = MonotonicClock.seconds()
            if threads == 1 {
                sumRepeatedly(buffers[0], count: count, passes: passes)
            } else {
                let group = DispatchGroup()
                for t in 1..<threads {
                    let buffer = UnsafeSendablePointer(buffers[t])
                    group.enter()
                    Thread {
                        sumRepeatedly(buffer.pointer, count: count, passes: passes)
                        group.leave()
                    }.start()
                }
                sumRepeatedly(buffers[0], count: count, passes: passes)
                group.wait()
            }
            best = max(best, Double(count * 4 * passes * threads) / (MonotonicClock.seconds() - start))
        }
        return best
    }

    /// A thread's own buffer, handed to it: no other thread touches it.
    private struct UnsafeSendablePointer: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<Float>
        init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
    }

    /// Sums `count` floats `passes` times.
    private static func sumRepeatedly(_ buffer: UnsafeMutablePointer<Float>, count: Int, passes: Int) {
        let raw = UnsafeRawPointer(buffer)
        var sink = SIMD8<Float>()
        for _ in 0..<passes {
            var a = SIMD8<Float>(), b = SIMD8<Float>(), c = SIMD8<Float>(), d = SIMD8<Float>()
            var offset = 0
            while offset < count * 4 {
                a += raw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                b += raw.loadUnaligned(fromByteOffset: offset + 32, as: SIMD8<Float>.self)
                c += raw.loadUnaligned(fromByteOffset: offset + 64, as: SIMD8<Float>.self)
                d += raw.loadUnaligned(fromByteOffset: offset + 96, as: SIMD8<Float>.self)
                offset += 128
            }
            sink += a + b + c + d
        }
        if sink.sum() == .infinity { print("") }   // keeps the loads from being optimised away
    }
}

/// The monotonic clock every measurement here reads.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary start.
    @inline(__always)
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Seconds since an arbitrary start.
    @inline(__always)
    public static func seconds() -> Double { Double(nanoseconds()) * 1e-9 }
}
