/// Turns the object a torch pickle built into a `StateDict`, shared by the zip
/// and legacy formats (they differ only in where storage bytes live).

/// Returns the bytes of a storage's root record (all of it; views select
/// their part through `StorageRef.elementOffset`).
typealias StorageBytes = (StorageRef) throws -> UnsafeRawBufferPointer

/// Tensors bigger than their storage (stride-0 broadcasts) are allowed up to
/// this many elements (4 MB), so a few bytes of file cannot demand much. It
/// was 2^24 until the torch zip fuzzer timed out on a 9 kB file expanding
/// one view to 64 MB (0.2 s in release, 12 s under AddressSanitizer); no
/// state dict has a reason to broadcast a parameter that far.
let maxBroadcastElements = 1 << 20

/// How many float32 values a file of `fileSize` bytes may expand to. Every
/// entry of a state dict is copied out, and a pickle can name one tensor (or
/// one broadcast view) under any number of keys: without a budget, a 5 kB file
/// listing a 64 MB broadcast view 400 times demanded 26 GB (found while writing
/// the reliability tests). Honest files need at most their own size (tied
/// weights shared by two names double one tensor), so twice the file plus
/// one maximal broadcast view refuses nothing real.
func elementBudget(fileSize: Int) -> Int {
    (2 * fileSize) / 4 + maxBroadcastElements
}

/// Finds the name -> tensor pairs in the unpickled object and reads each tensor.
///
/// Accepted shapes: a whole pickled module (`torch.save(model, f)`; see
/// `walkModuleTree`), the reference trainer's `{'model_state_dict': ..., ...}`
/// (the rest, optimizer state included, is never read), a `{'state_dict': ...}`
/// wrapper, or a plain (Ordered)dict of name -> tensor. `fileSize` bounds the
/// total number of values read (see `elementBudget`).
func makeStateDict(from object: PickleValue, format: CheckpointFormat, fileSize: Int,
                   storageBytes: StorageBytes) throws -> StateDict {
    var result = StateDict(format: format)
    let entries: [(name: String, ref: TensorRef)]
    if case .object(let module) = object {
        let tree = try walkModuleTree(module)
        entries = tree.tensors
        result.moduleClasses = tree.classes
    } else {
        entries = try stateDictEntries(object)
    }
    let budget = elementBudget(fileSize: fileSize)
    var spent = 0
    for (name, ref) in entries {
        // Checked before anything is allocated; materialise re-checks the shape.
        if let count = checkedProduct(ref.size) {
            let (total, overflow) = spent.addingReportingOverflow(count)
            spent = overflow ? Int.max : total
            guard spent <= budget else {
                throw CheckpointError.invalidTensor(
                    name: name, reason: "brings the state dict to \(spent) float32 values, more than a \(fileSize)-byte file can hold (limit \(budget))")
            }
        }
        result.set(name, try materialise(ref, name: name, storageBytes: storageBytes))
    }
    return result
}

/// The name -> tensor pairs of a state dict, or of the one a trainer dict holds.
private func stateDictEntries(_ object: PickleValue) throws -> [(name: String, ref: TensorRef)] {
    guard case .dict(let top) = object else {
        throw CheckpointError.notAStateDict("the pickled object is a \(object.kind), not a dict or a module")
    }
    var source = top
    for wrapper in ["model_state_dict", "state_dict"] {
        if let inner = top[wrapper] {
            guard case .dict(let d) = inner else {
                throw CheckpointError.notAStateDict("\(quoted(wrapper)) is a \(inner.kind), not a dict")
            }
            source = d
            break
        }
    }
    return try source.entries.map { key, value in
        guard let name = key.asString else {
            throw CheckpointError.notAStateDict("a key is a \(key.kind), not a tensor name")
        }
        guard case .tensor(let ref) = value else {
            throw CheckpointError.notAStateDict("entry \(quoted(name)) is a \(value.kind), not a tensor")
        }
        return (name, ref)
    }
}

/// Reads a float32 tensor from its storage by offset, size and stride,
/// checking that every element it touches lies inside the storage.
func materialise(_ ref: TensorRef, name: String, storageBytes: StorageBytes) throws -> Tensor {
    let storage = ref.storage
    guard storage.typeName == "FloatStorage" else {
        throw CheckpointError.unsupportedStorage(tensor: name, storageType: "torch.\(storage.typeName)")
    }
    func invalid(_ reason: String) -> CheckpointError { .invalidTensor(name: name, reason: reason) }

    guard ref.offset >= 0 else { throw invalid("negative storage offset \(ref.offset)") }
    guard ref.stride.allSatisfy({ $0 >= 0 }) else { throw invalid("negative stride \(ref.stride)") }
    guard let count = checkedProduct(ref.size) else { throw invalid("size \(ref.size) is negative or overflows") }
    if count == 0 { return Tensor(shape: ref.size, values: []) }

    // Highest element index the view touches: offset + sum((size_i - 1) * stride_i).
    var last = ref.offset
    for (n, s) in zip(ref.size, ref.stride) {
        let (step, o1) = (n - 1).multipliedReportingOverflow(by: s)
        let (sum, o2) = last.addingReportingOverflow(step)
        guard !o1, !o2 else { throw invalid("offset/size/stride overflow") }
        last = sum
    }
    guard last < storage.numel else {
        throw invalid("view (offset \(ref.offset), size \(ref.size), stride \(ref.stride)) reaches element \(last) of a storage of \(storage.numel)")
    }
    guard count <= storage.numel || count <= maxBroadcastElements else {
        throw CheckpointError.limitExceeded(what: "elements of broadcast tensor \(quoted(name))", limit: maxBroadcastElements)
    }

    let bytes = try storageBytes(storage)
    let (storageEnd, o1) = storage.elementOffset.addingReportingOverflow(storage.numel)
    let (storageBytesNeeded, o2) = storageEnd.multipliedReportingOverflow(by: 4)
    guard !o1, !o2, storage.elementOffset >= 0, storageBytesNeeded <= bytes.count else {
        throw invalid("storage \(quoted(storage.key)) holds \(bytes.count) bytes, fewer than its \(storage.numel) float32 elements")
    }
    let base = 4 * (storage.elementOffset + ref.offset)  // in bytes; bounded by the checks above

    if isRowMajor(size: ref.size, stride: ref.stride) {
        return Tensor(shape: ref.size, values: readFloats(bytes, at: base, count: count))
    }
    // General strides: walk the index space in row-major order, keeping the
    // storage position of the current index up to date like an odometer.
    // A dimension of size 1 never moves, so its stride (possibly huge) is zeroed
    // to keep every intermediate position within twice the last index.
    let stride = zip(ref.size, ref.stride).map { $0 == 1 ? 0 : $1 }
    var values = [Float](repeating: 0, count: count)
    var index = [Int](repeating: 0, count: ref.size.count)
    var position = 0  // element offset from `base`
    for out in 0..<count {
        let bits = bytes.loadUnaligned(fromByteOffset: base + 4 * position, as: UInt32.self)
        values[out] = Float(bitPattern: UInt32(littleEndian: bits))
        var d = ref.size.count - 1
        while d >= 0 {
            index[d] += 1
            position += stride[d]
            if index[d] < ref.size[d] { break }
            position -= stride[d] * index[d]
            index[d] = 0
            d -= 1
        }
    }
    return Tensor(shape: ref.size, values: values)
}

/// Whether a non-empty view is laid out contiguously in row-major order
/// (dimensions of size 1 may carry any stride).
private func isRowMajor(size: [Int], stride: [Int]) -> Bool {
    var expected = 1
    for d in stride.indices.reversed() where size[d] != 1 {
        if stride[d] != expected { return false }
        expected *= size[d]
    }
    return true
}
