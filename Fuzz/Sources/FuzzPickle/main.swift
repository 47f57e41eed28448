/// libFuzzer entry: any bytes as one torch data.pkl, without a zip around it,
/// so mutations reach the unpickler and the tensor rebuilds directly. Storage
/// bytes are a fixed 4 kB buffer: enough for views to be read, small enough
/// that out-of-range views are common.
private let storage = [UInt8](repeating: 0x3f, count: 4096)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    storage.withUnsafeBytes { storageBytes in
        _ = try? {
            var unpickler = Unpickler(bytes) { pid in .storage(try storageRef(fromPersistentID: pid, legacy: false)) }
            let object = try unpickler.load()
            _ = try makeStateDict(from: object, format: .torchZip, fileSize: size) { _ in storageBytes }
        }()
    }
    return 0
}

runLibFuzzer(fuzzPickle)
