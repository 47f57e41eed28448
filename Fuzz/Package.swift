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
let package = Package(
    name: "SequnetFuzz",
    targets: ["FuzzTorchZip", "FuzzTorchLegacy", "FuzzSafetensors", "FuzzPickle"].map {
        .executableTarget(name: $0, path: "Sources/\($0)")
    },
    swiftLanguageModes: [.v5]
)
