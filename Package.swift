// swift-tools-version:6.1
import PackageDescription

// Data flows through the targets in this order:
//   SequnetCheckpoint (file formats) -> SequnetEngine (model families, stream
//   state, samplers, codecs) -> SequnetAudio (libsndfile, libsamplerate) ->
//   sequnet (the command). SequnetServe (the HTTP server of `sequnet serve`)
//   sits beside SequnetAudio. SequnetMusic (piano-roll text, MIDI files, FluidSynth
//   rendering) sits beside SequnetAudio for the polyphonic-music models.
//   SequnetBench measures the engine (and alone links OpenBLAS, for its sgemv
//   replay).
// Release builds of the hot path drop Swift's runtime checks (the engine
// checks shapes once at load) and, on x86-64, use AVX2 and FMA for the
// hand-written SIMD kernels (every x86-64 CPU since 2013 has them).
// The panel kernels are built a second time for AVX-512 (LLVM's skylake-avx512
// level, 16-wide vectors) and a third for AVX-512 with VNNI (cascadelake);
// the engine runs those builds only where the CPU reports the extensions,
// so the rest of the program never needs them.
// The kernels call a few LLVM intrinsics (prefetch, the 16-bit multiply-adds)
// through Swift's Builtin module.
let builtins: [SwiftSetting] = [.unsafeFlags(["-enable-builtin-module"])]
#if arch(x86_64)
let optimise: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release))]
// The AVX2 kernel build calls AVX2's vpmaddwd by name, so it is built for
// haswell in debug builds too.
let kernelsAVX2: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .debug))]
let optimiseAVX512: [SwiftSetting] = [
    .define("SEQUNET_AVX512"),
    .unsafeFlags(["-Ounchecked", "-target-cpu", "skylake-avx512", "-enable-builtin-module"]),
]
let optimiseVNNI: [SwiftSetting] = [
    .define("SEQUNET_AVX512"), .define("SEQUNET_VNNI"),
    .unsafeFlags(["-Ounchecked", "-target-cpu", "cascadelake", "-enable-builtin-module"]),
]
let kernelTargets: [Target.Dependency] = ["SequnetKernels", "SequnetKernelsAVX512", "SequnetKernelsVNNI"]
#else
let optimise: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
let kernelsAVX2: [SwiftSetting] = []
let optimiseAVX512: [SwiftSetting] = builtins
let optimiseVNNI: [SwiftSetting] = builtins
let kernelTargets: [Target.Dependency] = ["SequnetKernels"]
#endif

let package = Package(
    name: "sequnet",
    products: [
        .executable(name: "sequnet", targets: ["sequnet"]),
        .library(name: "SequnetKit", targets: ["SequnetCheckpoint", "SequnetEngine", "SequnetAudio", "SequnetMusic"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        // `sequnet serve`: HTTP/1.1 on SwiftNIO. Without the default traits:
        // swift-configuration support is not used, and leaving it out builds less.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: []),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        // Thin wrappers over Debian's C libraries.
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile",
                       providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSampleRate", pkgConfig: "samplerate",
                       providers: [.apt(["libsamplerate0-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // No pkgConfig: fluidsynth.pc's cflags (glib, SDL2, -pthread) are not
        // needed by <fluidsynth.h> and SwiftPM warns on every build about the
        // flags it drops; the header is in /usr/include, the module map links
        // -lfluidsynth. Debian: libfluidsynth-dev (scripts/install-deps.sh).
        .systemLibrary(name: "CFluidSynth"),

        // Plain -O here: this target parses untrusted files, so Swift keeps its
        // bounds and overflow checks as a second line of defence.
        .target(name: "SequnetCheckpoint"),
        // One kernel source, three builds (SequnetKernelsAVX512/ and
        // SequnetKernelsVNNI/ link to SequnetKernels/).
        .target(name: "SequnetKernels", swiftSettings: optimise + kernelsAVX2 + builtins),
        .target(name: "SequnetKernelsAVX512", swiftSettings: optimiseAVX512),
        .target(name: "SequnetKernelsVNNI", swiftSettings: optimiseVNNI),
        .target(name: "SequnetEngine", dependencies: ["SequnetCheckpoint"] + kernelTargets,
                swiftSettings: optimise),
        .target(name: "SequnetBench",
                dependencies: ["SequnetEngine", "COpenBLAS", .product(name: "Histogram", package: "hdrhistogram-swift")],
                swiftSettings: optimise),
        .target(name: "SequnetAudio", dependencies: ["CSndFile", "CSampleRate"],
                swiftSettings: optimise),
        // Plain -O, like SequnetCheckpoint: it parses untrusted MIDI files.
        .target(name: "SequnetMusic", dependencies: ["SequnetAudio", "CFluidSynth"]),
        // `sequnet serve`: listeners as streams of shared batches, WAV over HTTP, the page.
        .target(name: "SequnetServe",
                dependencies: ["SequnetEngine", "SequnetAudio", .product(name: "Hummingbird", package: "hummingbird"),
                               .product(name: "HTTPTypes", package: "swift-http-types"),
                               .product(name: "Logging", package: "swift-log"),
                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .executableTarget(
            name: "sequnet",
            dependencies: [
                "SequnetCheckpoint", "SequnetEngine", "SequnetAudio", "SequnetMusic", "SequnetBench", "SequnetServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: optimise),

        .testTarget(name: "SequnetCheckpointTests", dependencies: ["SequnetCheckpoint"]),
        .testTarget(name: "SequnetEngineTests", dependencies: ["SequnetEngine", "SequnetCheckpoint"]),
        .testTarget(name: "SequnetBenchTests", dependencies: ["SequnetBench", "SequnetEngine"]),
        .testTarget(name: "SequnetMusicTests", dependencies: ["SequnetMusic", "SequnetAudio"]),
        .testTarget(name: "SequnetCLITests", dependencies: ["SequnetAudio", "SequnetEngine", "SequnetCheckpoint"]),
    ],
    swiftLanguageModes: [.v5]
)
