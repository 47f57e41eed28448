import Foundation
import SequnetAudio

/// libFuzzer entry: any bytes as a prompt file, read the way `generate
/// --prompt` reads one (libsndfile, mixed to mono, resampled to 16 kHz by
/// libsamplerate). libsndfile reads from a path, so each input goes through
/// one temporary file.
private let path = NSTemporaryDirectory() + "/sequnet-fuzz-prompt-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPromptReader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard writeFuzzInput(data, size, to: path) else { return 0 }
    _ = try? readMonoAudio(atPath: path, resampledTo: 16_000)
    return 0
}

runLibFuzzer(fuzzPromptReader)
