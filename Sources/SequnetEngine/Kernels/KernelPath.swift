import Foundation

/// Which build of the panel kernels runs: AVX-512 with VNNI, AVX-512, or
/// AVX2 with FMA, the best the CPU has. Every build gives the same bytes for
/// a given precision (see `SequnetKernels`); the choice is only about speed.
public enum KernelPath: String, Sendable, CaseIterable {
    case avx2
    case avx512
    /// AVX-512 plus VNNI's `vpdpwssd` for int8 weights.
    case avx512vnni

    /// The path in use: the best the CPU supports, unless `SEQUNET_KERNELS`
    /// (avx2, avx512 or avx512vnni) names another one the CPU supports. Read once.
    public static let active: KernelPath = {
        let supported = CPUFeatures.current.supportedKernelPaths
        if let name = ProcessInfo.processInfo.environment["SEQUNET_KERNELS"], let asked = KernelPath(rawValue: name.lowercased()),
           supported.contains(asked) {
            return asked
        }
        return supported.last ?? .avx2
    }()
}

/// The CPU's instruction-set extensions, as the operating system reports
/// them from `cpuid` (Linux: the `flags` line of /proc/cpuinfo, which also
/// drops AVX-512 when the kernel does not save its registers).
public struct CPUFeatures: Sendable {
    public let flags: Set<String>

    public init(flags: Set<String>) { self.flags = flags }

    /// This machine's features (empty if the OS does not say).
    public static let current: CPUFeatures = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return CPUFeatures(flags: []) }
        return CPUFeatures(flags: Set(line[line.index(after: colon)...].split(separator: " ").map(String.init)))
    }()

    /// What the AVX-512 build may use (LLVM's skylake-avx512: AVX-512 F, CD, BW, DQ, VL).
    static let avx512Flags = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]
    /// What the release build assumes everywhere (`-target-cpu haswell`).
    static let avx2Flags = ["avx2", "fma", "f16c", "bmi2"]

    public var hasAVX2: Bool { Self.avx2Flags.allSatisfy(flags.contains) }
    public var hasAVX512: Bool { Self.avx512Flags.allSatisfy(flags.contains) }
    /// The VNNI build is LLVM's cascadelake level: skylake-avx512 plus AVX512-VNNI.
    public var hasAVX512VNNI: Bool { hasAVX512 && flags.contains("avx512_vnni") }

    /// Kernel builds this CPU can run, slowest first.
    public var supportedKernelPaths: [KernelPath] {
        #if arch(x86_64)
        return hasAVX512VNNI ? [.avx2, .avx512, .avx512vnni] : hasAVX512 ? [.avx2, .avx512] : [.avx2]
        #else
        return [.avx2]   // the portable SIMD build; the name is the x86 one
        #endif
    }

    /// The reduced-precision extensions present, for reports ("avx512_vnni avx512_bf16").
    public var extensions: [String] {
        ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"].filter(flags.contains)
    }
}
