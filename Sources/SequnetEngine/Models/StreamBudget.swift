import Foundation

/// How much a model may ask of this machine for a stream: the bounds checked
/// before the first stream is built, so that a file of a few kilobytes cannot
/// cost gigabytes of memory or minutes of priming.
public struct StreamBudget: Sendable, Equatable {
    /// Bytes of state one stream may hold.
    public var maxStateBytes: Int
    /// Steps priming may take (the model's input size).
    public var maxPrimingSteps: Int
    /// Multiply-adds priming may take (input size times the cost of a step).
    public var maxPrimingMultiplyAdds: Double

    public init(maxStateBytes: Int, maxPrimingSteps: Int, maxPrimingMultiplyAdds: Double) {
        self.maxStateBytes = maxStateBytes
        self.maxPrimingSteps = maxPrimingSteps
        self.maxPrimingMultiplyAdds = maxPrimingMultiplyAdds
    }

    /// The default: 256 MiB of state per stream (the paper's WaveNet needs
    /// 16.8 MB, its Seq-U-Net 0.6 MB), 2^22 priming steps (4.4 minutes of
    /// 16 kHz audio; the paper's models prime 32,761) and 10^12 multiply-adds
    /// of priming (about 90 s on one core of the machine the README measures;
    /// the paper's Seq-U-Net needs 1.5 x 10^11, 13 s).
    public static let standard = StreamBudget(maxStateBytes: 256 << 20, maxPrimingSteps: 1 << 22,
                                              maxPrimingMultiplyAdds: 1e12)

    /// As much as this machine holds: state up to half its physical memory,
    /// priming of any length. For models known to be that large.
    public static var machine: StreamBudget {
        StreamBudget(maxStateBytes: Int(min(ProcessInfo.processInfo.physicalMemory / 2, UInt64(Int.max))),
                     maxPrimingSteps: .max, maxPrimingMultiplyAdds: .infinity)
    }
}

extension Model {
    /// Throws `ModelLoadError.overBudget` naming what a stream of this model
    /// would exceed: its state, or the length or work of priming.
    public func check(_ budget: StreamBudget) throws {
        let state = config.streamStateBytes(batch: 1)
        if state > budget.maxStateBytes {
            throw ModelLoadError.overBudget(
                "a stream needs \(state >> 20) MiB of state, over the \(budget.maxStateBytes >> 20) MiB allowed")
        }
        let steps = config.inputSize
        if steps > budget.maxPrimingSteps {
            throw ModelLoadError.overBudget(
                "priming takes \(steps) steps (its input size), over the \(budget.maxPrimingSteps) allowed")
        }
        let work = Double(steps) * multiplyAddsPerSample
        if work > budget.maxPrimingMultiplyAdds {
            throw ModelLoadError.overBudget(String(
                format: "priming takes %.2g multiply-adds, over the %.2g allowed", work, budget.maxPrimingMultiplyAdds))
        }
    }
}
