#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer entry: any bytes as a legacy (pre-1.6) torch file: five pickles
/// back to back, then storage records.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorchLegacy(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = try? readTorchLegacy(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

// SwiftPM links an executable's top-level code as its entry point, so the
// target starts libFuzzer's driver itself rather than using libFuzzer's main.
@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argc, &argv, fuzzTorchLegacy))
