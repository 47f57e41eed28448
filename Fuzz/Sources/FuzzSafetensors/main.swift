#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer entry: any bytes as safetensors (length, JSON header, data).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = try? readSafetensors(UnsafeRawBufferPointer(start: data, count: size))
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
exit(runFuzzerDriver(&argc, &argv, fuzzSafetensors))
