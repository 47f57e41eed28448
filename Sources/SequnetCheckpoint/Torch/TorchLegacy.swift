/// torch.save before 1.6 (`_use_new_zipfile_serialization=False`), of a state
/// dict or of a whole module (see `makeStateDict`): five
/// pickles back to back (magic number, protocol version, system info, the
/// object, the list of storage keys), then for each key in that list an int64
/// little-endian element count followed by the storage's raw bytes.
func readTorchLegacy(_ bytes: UnsafeRawBufferPointer) throws -> StateDict {
    var position = 0
    func nextPickle(_ persistentLoad: @escaping Unpickler.PersistentLoad = { _ in
        throw CheckpointError.malformedLegacy("persistent id outside the object pickle")
    }) throws -> PickleValue {
        var u = Unpickler(bytes, from: position, persistentLoad: persistentLoad)
        let value = try u.load()
        position = u.endOffset
        return value
    }

    // 0x1950a86a20f9469cfc6c as LONG1 bytes (little-endian).
    let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]
    guard case .bigInt(let m) = try nextPickle(), m == magic else {
        throw CheckpointError.malformedLegacy("first pickle is not torch's magic number")
    }
    guard case .int(1001) = try nextPickle() else {
        throw CheckpointError.malformedLegacy("protocol version is not 1001")
    }
    let sysInfo = try nextPickle()
    if case .dict(let info) = sysInfo, let little = info["little_endian"], case .bool(false) = little {
        throw CheckpointError.malformedLegacy("written on a big-endian machine")
    }

    // Storage references as the object pickle names them: key -> element size.
    final class Seen { var elementSize: [String: (String, Int)] = [:] }
    let seen = Seen()
    let object = try nextPickle { pid in
        // A module class (whole-module pickles): torch's loader hands back the
        // class; this reader, its name, for NEWOBJ to make an inert record of.
        if case .moduleID(let c) = pid { return .className(c) }
        let ref = try storageRef(fromPersistentID: pid, legacy: true)
        if let (type, size) = seen.elementSize[ref.key], size != ref.elementSize {
            throw CheckpointError.malformedLegacy("storage \(quoted(ref.key)) is both torch.\(type) and torch.\(ref.typeName)")
        }
        seen.elementSize[ref.key] = (ref.typeName, ref.elementSize)
        return .storage(ref)
    }

    guard case .list(let keyList) = try nextPickle() else {
        throw CheckpointError.malformedLegacy("storage key list is not a list")
    }
    var regions: [String: UnsafeRawBufferPointer] = [:]
    var reader = ByteReader(bytes, from: position, what: "legacy storage data")
    for item in keyList.items {
        guard let key = item.asString else { throw CheckpointError.malformedLegacy("a storage key is a \(item.kind)") }
        guard regions[key] == nil else { throw CheckpointError.malformedLegacy("storage \(quoted(key)) is listed twice") }
        guard let (_, elementSize) = seen.elementSize[key] else {
            throw CheckpointError.malformedLegacy("storage \(quoted(key)) is listed but never referenced")
        }
        let count = try reader.i64()
        guard count >= 0 else { throw CheckpointError.malformedLegacy("storage \(quoted(key)) has negative size \(count)") }
        let (byteCount, overflow) = Int(count).multipliedReportingOverflow(by: elementSize)
        guard !overflow else { throw CheckpointError.malformedLegacy("storage \(quoted(key)) size overflows") }
        regions[key] = try reader.slice(byteCount)
    }
    return try makeStateDict(from: object, format: .torchLegacy, fileSize: bytes.count) { ref in
        guard let region = regions[ref.key] else {
            throw CheckpointError.malformedLegacy("storage \(quoted(ref.key)) has no data record")
        }
        return region
    }
}
