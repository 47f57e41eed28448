/// libFuzzer entry: any bytes as safetensors (length, JSON header, data).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = try? readSafetensors(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

runLibFuzzer(fuzzSafetensors)
