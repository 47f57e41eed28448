/// libFuzzer entry: any bytes as a torch zip checkpoint (zip structure, then
/// the pickle, then tensor views into stored entries). Refusals are the
/// expected outcome; only a crash, a trap or a sanitizer report is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorchZip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = try? readTorchZip(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

runLibFuzzer(fuzzTorchZip)
