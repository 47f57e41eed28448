/// libFuzzer entry: any bytes as a legacy (pre-1.6) torch file: five pickles
/// back to back, then storage records.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorchLegacy(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = try? readTorchLegacy(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

runLibFuzzer(fuzzTorchLegacy)
