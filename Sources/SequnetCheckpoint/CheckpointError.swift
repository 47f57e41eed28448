/// Everything that can go wrong reading or writing a checkpoint. Each case
/// renders as one line that says which file, entry or tensor is at fault and
/// what is wrong with it.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened, sized or mapped.
    case cannotOpen(path: String, reason: String)
    /// The input has no bytes at all.
    case empty
    /// The content matches none of the supported formats.
    case unrecognisedFormat(firstBytes: String)
    /// A read ran past the end of the input (or of the region holding it).
    case truncated(what: String, offset: Int, needed: Int, available: Int)
    /// The zip structure (end record, central directory, local headers) is broken.
    case malformedZip(String)
    /// A zip entry is compressed; torch writes only "stored" entries.
    case compressedEntry(name: String, method: Int)
    /// A zip entry's path is absolute, climbs with `..`, or leaves the archive's one top folder.
    case unsafeEntryPath(name: String, reason: String)
    /// A zip entry the checkpoint refers to is missing.
    case missingEntry(String)
    /// The pickle stream is malformed at the given byte offset.
    case malformedPickle(offset: Int, reason: String)
    /// The pickle uses an opcode this reader does not implement.
    case unsupportedOpcode(opcode: UInt8, offset: Int)
    /// The pickle names a global outside the allow-list; nothing was resolved or run.
    case refusedGlobal(String)
    /// A resource cap (stack, memo, nesting, sizes) was hit.
    case limitExceeded(what: String, limit: Int)
    /// A tensor is stored with a dtype other than float32.
    case unsupportedStorage(tensor: String, storageType: String)
    /// A tensor's offset/size/stride do not fit its storage, or its parts are ill-typed.
    case invalidTensor(name: String, reason: String)
    /// The unpickled object is neither a state dict (or a trainer dict
    /// holding one) nor a whole pickled module.
    case notAStateDict(String)
    /// A whole pickled module's tree is not what torch writes. `path` is the
    /// module's state-dict prefix ("" for the top), `className` its class.
    case invalidModule(path: String, className: String, reason: String)
    /// A legacy torch file's framing (magic, version, storage records) is wrong.
    case malformedLegacy(String)
    /// The safetensors header breaks a rule of the format.
    case malformedSafetensors(String)
    /// A safetensors tensor has a known dtype other than F32.
    case unsupportedDtype(tensor: String, dtype: String)
    /// A safetensors tensor has a dtype the format does not define.
    case unknownDtype(tensor: String, dtype: String)
    /// A tensor's byte length does not match its shape.
    case shapeMismatch(tensor: String, shape: [Int], byteCount: Int)
    /// Writing a file failed.
    case writeFailed(path: String, reason: String)
    /// Wraps another error with the path of the file being read.
    indirect case inFile(path: String, CheckpointError)

    /// The error without the file wrapper (for matching in callers and tests).
    public var underlying: CheckpointError {
        if case .inFile(_, let inner) = self { return inner.underlying }
        return self
    }

    /// One line naming the file, entry or tensor and what is wrong with it.
    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "cannot open checkpoint \(path): \(reason)"
        case .empty:
            return "checkpoint is empty (0 bytes)"
        case .unrecognisedFormat(let first):
            return "not a torch zip, torch legacy or safetensors checkpoint (starts with \(first))"
        case .truncated(let what, let offset, let needed, let available):
            return "truncated: \(what) needs \(needed) bytes at offset \(offset) but only \(available) remain"
        case .malformedZip(let reason):
            return "malformed zip archive: \(reason)"
        case .compressedEntry(let name, let method):
            return "zip entry \(name) is compressed (method \(method)); torch checkpoints store entries uncompressed"
        case .unsafeEntryPath(let name, let reason):
            return "refusing zip entry \(quoted(name)): \(reason)"
        case .missingEntry(let name):
            return "zip archive has no entry \(name)"
        case .malformedPickle(let offset, let reason):
            return "malformed pickle at byte \(offset): \(reason)"
        case .unsupportedOpcode(let op, let offset):
            return "unsupported pickle opcode 0x\(hex(op)) at byte \(offset)"
        case .refusedGlobal(let name):
            return "refusing pickle global \(name): only tensor-rebuild functions are allowed"
        case .limitExceeded(let what, let limit):
            return "\(what) exceeds the limit of \(limit)"
        case .unsupportedStorage(let tensor, let type):
            return "tensor \(quoted(tensor)) is stored as \(type); only torch.FloatStorage (float32) is supported"
        case .invalidTensor(let name, let reason):
            return "tensor \(quoted(name)): \(reason)"
        case .notAStateDict(let reason):
            return "not a state dict or a pickled torch module: \(reason)"
        case .invalidModule(let path, let className, let reason):
            let which = path.isEmpty ? "top module" : "module \(quoted(path))"
            return "pickled torch module: \(which) (\(className)) \(reason)"
        case .malformedLegacy(let reason):
            return "malformed legacy torch file: \(reason)"
        case .malformedSafetensors(let reason):
            return "malformed safetensors: \(reason)"
        case .unsupportedDtype(let tensor, let dtype):
            return "tensor \(quoted(tensor)) has dtype \(dtype); only F32 is supported"
        case .unknownDtype(let tensor, let dtype):
            return "tensor \(quoted(tensor)) has unknown dtype \(quoted(dtype))"
        case .shapeMismatch(let tensor, let shape, let bytes):
            return "tensor \(quoted(tensor)) has shape \(shape) but \(bytes) bytes of float32 data"
        case .writeFailed(let path, let reason):
            return "cannot write \(path): \(reason)"
        case .inFile(let path, let inner):
            return "\(path): \(inner)"
        }
    }
}

/// A name in single quotes with control characters escaped, so that hostile
/// names cannot break the one-line rendering.
func quoted(_ s: String) -> String {
    var out = "'"
    for scalar in s.unicodeScalars.prefix(200) {
        if scalar.value < 0x20 || scalar.value == 0x7f {
            out += "\\u{\(String(scalar.value, radix: 16))}"
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    if s.unicodeScalars.count > 200 { out += "..." }
    return out + "'"
}

func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}
