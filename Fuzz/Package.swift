// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for the checkpoint readers, kept out of the root package
// so that its build never needs the fuzzer runtime. Each target compiles the
// reader sources itself (Sources/<Target>/SequnetCheckpoint is a symlink to
// ../../../Sources/SequnetCheckpoint), so a target can call the internal
// reader it fuzzes directly instead of going through format detection.
// Sources/<Target>/LibFuzzerDriver.swift links to the one shared driver in
// Sources/Shared.
//
// Build and run: scripts/fuzz.sh (or, by hand, from this folder:
//   swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//   .build/release/FuzzSafetensors corpus/safetensors -max_total_time=600)
//
// FuzzModelLoad (checkpoint to model: metadata, configuration, budget) and
// FuzzPromptReader (libsndfile and libsamplerate, as `--prompt` reads) use
// the project's own targets, through symlinks in Sources/Libraries.
let library = { (name: String, dependencies: [Target.Dependency]) in
    Target.target(name: name, dependencies: dependencies, path: "Sources/Libraries/\(name)")
}
let package = Package(
    name: "SequnetFuzz",
    targets: ["FuzzTorchZip", "FuzzTorchLegacy", "FuzzSafetensors", "FuzzPickle"].map {
        .executableTarget(name: $0, path: "Sources/\($0)")
    } + [
        .systemLibrary(name: "CSndFile", path: "Sources/Libraries/CSndFile", pkgConfig: "sndfile"),
        .systemLibrary(name: "CSampleRate", path: "Sources/Libraries/CSampleRate", pkgConfig: "samplerate"),
        library("SequnetCheckpoint", []),
        // The engine's kernels, built three times as the root package builds them.
        .target(name: "SequnetKernels", path: "Sources/Libraries/SequnetKernels",
                swiftSettings: [.unsafeFlags(["-target-cpu", "haswell", "-enable-builtin-module"])]),
        .target(name: "SequnetKernelsAVX512", path: "Sources/Libraries/SequnetKernelsAVX512",
                swiftSettings: [.define("SEQUNET_AVX512"),
                                .unsafeFlags(["-target-cpu", "skylake-avx512", "-enable-builtin-module"])]),
        .target(name: "SequnetKernelsVNNI", path: "Sources/Libraries/SequnetKernelsVNNI",
                swiftSettings: [.define("SEQUNET_AVX512"), .define("SEQUNET_VNNI"),
                                .unsafeFlags(["-target-cpu", "cascadelake", "-enable-builtin-module"])]),
        library("SequnetEngine", ["SequnetCheckpoint", "SequnetKernels", "SequnetKernelsAVX512", "SequnetKernelsVNNI"]),
        library("SequnetAudio", ["CSndFile", "CSampleRate"]),
        .executableTarget(name: "FuzzModelLoad", dependencies: ["SequnetCheckpoint", "SequnetEngine"],
                          path: "Sources/FuzzModelLoad"),
        .executableTarget(name: "FuzzPromptReader", dependencies: ["SequnetAudio"], path: "Sources/FuzzPromptReader"),
    ],
    swiftLanguageModes: [.v5]
)
