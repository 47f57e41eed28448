/// What GLOBAL and STACK_GLOBAL push for `module.name`. Nothing is ever
/// looked up: a name on `allowedGlobal`'s list gets its fixed meaning here,
/// and any other name that reads as a Python class (dotted identifiers) is
/// recorded as a class name, text only, which the unpickler lets a stream
/// use only to make an inert object record (see `Unpickler`). A name that is
/// not even an identifier is refused on the spot.
func pickleGlobal(module: String, name: String) throws -> PickleValue {
    if let g = allowedGlobal(module: module, name: name) { return .global(g) }
    guard isDottedIdentifier(module), isDottedIdentifier(name) else { throw refusal(module, name) }
    return .className(PickleClassName(module: module, name: name))
}

/// The globals a checkpoint pickle may call (or name in a storage id), each
/// with a fixed meaning: a torch state dict, or a whole pickled module, needs
/// nothing more than these.
func allowedGlobal(module: String, name: String) -> PickleGlobal? {
    let role: PickleGlobal.Role?
    switch (module, name) {
    case ("collections", "OrderedDict"): role = .orderedDict
    case ("torch._utils", "_rebuild_tensor_v2"): role = .rebuildTensorV2
    case ("torch._utils", "_rebuild_tensor"): role = .rebuildTensor
    case ("torch._utils", "_rebuild_parameter"): role = .rebuildParameter
    // A module's `_non_persistent_buffers_set`; protocol 2 names Python 3's
    // `builtins` as `__builtin__`.
    case ("__builtin__", "set"), ("builtins", "set"): role = .set
    case ("torch", _): role = torchStorageElementSizes[name].map { .storageType(elementSize: $0) }
    default: role = nil
    }
    return role.map { PickleGlobal(module: module, name: name, role: $0) }
}

/// The error for a global a stream may not use the way it tries to.
func refusal(_ module: String, _ name: String) -> CheckpointError {
    .refusedGlobal(quotedGlobal(module, name))
}

/// Storage classes torch names in persistent ids, with their element sizes.
/// All are recognised (so that optimizer state in any dtype can be skipped),
/// but only `FloatStorage` can become a `Tensor`.
let torchStorageElementSizes: [String: Int] = [
    "FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2,
    "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
    "ByteStorage": 1, "BoolStorage": 1, "ComplexFloatStorage": 8, "ComplexDoubleStorage": 16,
]

/// Whether `s` is ASCII identifiers joined by dots (`torch.nn.modules.conv`,
/// `Outer.Inner`), at most 200 characters: what a module path or a class's
/// qualified name looks like. Non-ASCII identifiers are refused too; no
/// checkpoint needs them, and it keeps recorded names printable.
func isDottedIdentifier(_ s: String) -> Bool {
    let bytes = Array(s.utf8)
    guard !bytes.isEmpty, bytes.count <= 200 else { return false }
    var atStart = true
    for c in bytes {
        let letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f
        let digit = c >= 0x30 && c <= 0x39
        if c == 0x2e {
            if atStart { return false }
            atStart = true
        } else if letter || (digit && !atStart) {
            atStart = false
        } else {
            return false
        }
    }
    return !atStart
}

/// `module.name` for an error message, with anything unprintable escaped so
/// a hostile name cannot forge extra lines.
private func quotedGlobal(_ module: String, _ name: String) -> String {
    let full = "\(module).\(name)"
    let plain = full.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7f } && full.count <= 200
    return plain ? full : quoted(full)
}
