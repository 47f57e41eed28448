// swift-tools-version:6.1
import PackageDescription

// Data flows through the targets in this order:
//   SequnetCheckpoint (file formats) -> SequnetEngine (models, stream state,
//   sampler) -> SequnetAudio (libsndfile, libsamplerate) -> sequnet (the command).
let optimise: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "sequnet",
    products: [
        .executable(name: "sequnet", targets: ["sequnet"]),
        .library(name: "SequnetKit", targets: ["SequnetCheckpoint", "SequnetEngine", "SequnetAudio"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    ],
    targets: [
        // Thin wrappers over Debian's C libraries.
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile",
                       providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSampleRate", pkgConfig: "samplerate",
                       providers: [.apt(["libsamplerate0-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),

        .target(name: "SequnetCheckpoint", swiftSettings: optimise),
        .target(name: "SequnetEngine", dependencies: ["SequnetCheckpoint", "COpenBLAS"],
                swiftSettings: optimise),
        .target(name: "SequnetAudio", dependencies: ["CSndFile", "CSampleRate"],
                swiftSettings: optimise),
        .executableTarget(
            name: "sequnet",
            dependencies: [
                "SequnetCheckpoint", "SequnetEngine", "SequnetAudio",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: optimise),

        .testTarget(name: "SequnetCheckpointTests", dependencies: ["SequnetCheckpoint"]),
        .testTarget(name: "SequnetEngineTests", dependencies: ["SequnetEngine", "SequnetCheckpoint"]),
        .testTarget(name: "SequnetCLITests", dependencies: ["SequnetAudio"]),
    ],
    swiftLanguageModes: [.v5]
)
