/// The only globals a checkpoint pickle may name. Everything else, however
/// harmless it looks, is refused by name before anything else happens: a
/// torch state dict needs nothing more than these.
func allowedGlobal(module: String, name: String) throws -> PickleGlobal {
    let role: PickleGlobal.Role?
    switch (module, name) {
    case ("collections", "OrderedDict"): role = .orderedDict
    case ("torch._utils", "_rebuild_tensor_v2"): role = .rebuildTensorV2
    case ("torch._utils", "_rebuild_tensor"): role = .rebuildTensor
    case ("torch._utils", "_rebuild_parameter"): role = .rebuildParameter
    case ("torch", _): role = torchStorageElementSizes[name].map { .storageType(elementSize: $0) }
    default: role = nil
    }
    guard let role else {
        throw CheckpointError.refusedGlobal(quotedGlobal(module, name))
    }
    return PickleGlobal(module: module, name: name, role: role)
}

/// Storage classes torch names in persistent ids, with their element sizes.
/// All are recognised (so that optimizer state in any dtype can be skipped),
/// but only `FloatStorage` can become a `Tensor`.
let torchStorageElementSizes: [String: Int] = [
    "FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2,
    "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
    "ByteStorage": 1, "BoolStorage": 1, "ComplexFloatStorage": 8, "ComplexDoubleStorage": 16,
]

/// `module.name` for an error message, with anything unprintable escaped so
/// a hostile name cannot forge extra lines.
private func quotedGlobal(_ module: String, _ name: String) -> String {
    let full = "\(module).\(name)"
    let plain = full.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7f } && full.count <= 200
    return plain ? full : quoted(full)
}
