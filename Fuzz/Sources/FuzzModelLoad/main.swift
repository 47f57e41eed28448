import Foundation
import SequnetCheckpoint
import SequnetEngine

/// libFuzzer entry: any bytes as a checkpoint file, read as `-m FILE` reads
/// one (format by content), then built as a model: family, metadata checks,
/// configuration, strict tensor loading, the stream budget and export.
/// Nothing is streamed (a stream's cost is what the budget bounds);
/// everything before it must end in a value or an error.
private let path = NSTemporaryDirectory() + "/sequnet-fuzz-model-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelLoad(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard writeFuzzInput(data, size, to: path) else { return 0 }
    guard let dict = try? readCheckpoint(atPath: path) else { return 0 }
    if let model = try? Model(stateDict: dict) {
        _ = try? model.check(.standard)
        _ = model.exportStateDict()
    }
    return 0
}

runLibFuzzer(fuzzModelLoad)
