#if canImport(Glibc)
import Glibc
#endif

// Shared by every fuzz target (each target folder links to this file).

/// libFuzzer's per-input callback: 0 means the input was handled.
typealias FuzzTest = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ test: FuzzTest) -> Int32

/// Runs libFuzzer on `test` with this process's arguments. SwiftPM links an
/// executable's top-level code as its entry point, so a target starts
/// libFuzzer's driver itself rather than using libFuzzer's own main.
func runLibFuzzer(_ test: FuzzTest) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(runFuzzerDriver(&argc, &argv, test))
}

/// Writes one input to `path` (replacing it), for readers that take a file
/// path: libsndfile, and `readCheckpoint(atPath:)` with its format detection.
func writeFuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int, to path: String) -> Bool {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return size == 0 || write(fd, data, size) == size
}
