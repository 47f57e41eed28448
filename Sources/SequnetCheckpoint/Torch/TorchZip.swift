/// torch.save since 1.6: a zip archive `NAME/data.pkl` (the pickled object, a
/// state dict or a whole module,
/// storages as persistent ids) plus one entry `NAME/data/KEY` per storage.
func readTorchZip(_ bytes: UnsafeRawBufferPointer) throws -> StateDict {
    let zip = try ZipArchive(bytes)
    let folder = zip.topFolder + "/"
    // Newer torch records the byte order of the storages; older ones are little-endian.
    if zip.contains(folder + "byteorder") {
        let order = try zip.data(folder + "byteorder", in: bytes)
        guard order.elementsEqual("little".utf8) else {
            throw CheckpointError.malformedZip("storages are not little-endian (\(folder)byteorder)")
        }
    }
    let pickle = try zip.data(folder + "data.pkl", in: bytes)
    var unpickler = Unpickler(pickle) { pid in .storage(try storageRef(fromPersistentID: pid, legacy: false)) }
    let object = try unpickler.load()
    return try makeStateDict(from: object, format: .torchZip, fileSize: bytes.count) { ref in
        try zip.data(folder + "data/" + ref.key, in: bytes)
    }
}

/// Reads torch's storage persistent id:
/// `('storage', storage_type, key, location, numel)` in zip files, with a sixth
/// `view_metadata` (None or `(view_key, offset, size)`) in legacy files.
func storageRef(fromPersistentID pid: PickleValue, legacy: Bool) throws -> StorageRef {
    func bad(_ reason: String) -> CheckpointError {
        .malformedPickle(offset: 0, reason: "persistent id: \(reason)")
    }
    if case .moduleID(let c) = pid {
        // torch writes module classes as persistent ids only in legacy files.
        throw bad("module class \(c) outside a legacy torch file")
    }
    guard case .tuple(let t, _) = pid else { throw bad("a \(pid.kind), not a tuple") }
    guard let tag = t.first?.asString ?? (t.first.flatMap { if case .bytes(let b) = $0 { String(validating: b, as: UTF8.self) } else { nil } }) else {
        throw bad("no type tag")
    }
    guard tag == "storage" else { throw bad("\(quoted(tag)) records are not supported, only storages") }
    guard t.count == (legacy ? 6 : 5) else { throw bad("a storage record has \(t.count) fields") }
    guard case .global(let g) = t[1], case .storageType(let elementSize) = g.role else {
        throw bad("storage type is \(t[1].kind)")
    }
    guard let key = t[2].asString, isPlainKey(key) else { throw bad("storage key is not a plain name") }
    guard let numel = t[4].asInt, numel >= 0 else { throw bad("storage \(quoted(key)) has an invalid element count") }
    if legacy, case .tuple(let view, _) = t[5] {
        // A view of part of a root storage: (view_key, offset, size); the bytes
        // belong to the root, `key`.
        guard view.count == 3, let offset = view[1].asInt, let size = view[2].asInt, offset >= 0, size >= 0 else {
            throw bad("malformed view metadata of storage \(quoted(key))")
        }
        let (end, overflow) = offset.addingReportingOverflow(size)
        guard !overflow, end <= numel else { throw bad("view of storage \(quoted(key)) exceeds it") }
        return StorageRef(typeName: g.name, elementSize: elementSize, key: key, numel: size, elementOffset: offset)
    }
    return StorageRef(typeName: g.name, elementSize: elementSize, key: key, numel: numel, elementOffset: 0)
}

/// Storage keys are decimal numbers in practice; anything path-like is refused.
private func isPlainKey(_ key: String) -> Bool {
    !key.isEmpty && key.count <= 64 && key.utf8.allSatisfy { c in
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2d
    }
}
