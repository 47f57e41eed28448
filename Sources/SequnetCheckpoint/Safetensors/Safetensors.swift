/// The safetensors format: an 8-byte little-endian header length N, N bytes
/// of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {..}}`,
/// then the tensor data, offsets relative to the end of the header.

/// The reference implementation's cap on the header size.
let safetensorsMaxHeader = 100_000_000

/// Dtypes the format defines; all but F32, BF16 and I8 are refused by name.
private let knownDtypes: Set<String> = [
    "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2",
    "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64", "C64",
]

/// Whether `bytes` plausibly starts a safetensors file: a length, then `{`.
func looksLikeSafetensors(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bytes.count >= 9 && bytes[8] == UInt8(ascii: "{")
}

func readSafetensors(_ bytes: UnsafeRawBufferPointer) throws -> StateDict {
    func bad(_ reason: String) -> CheckpointError { .malformedSafetensors(reason) }
    var r = ByteReader(bytes, what: "safetensors header length")
    let declared = try r.u64()
    guard declared <= UInt64(safetensorsMaxHeader) else {
        throw CheckpointError.limitExceeded(what: "safetensors header length \(declared)", limit: safetensorsMaxHeader)
    }
    let headerLength = Int(declared)
    guard headerLength <= bytes.count - 8 else {
        throw bad("header length \(headerLength) exceeds the \(bytes.count - 8) bytes after it")
    }
    let dataStart = 8 + headerLength
    let dataSize = bytes.count - dataStart
    guard case .object(let members) = try JSONParser.parse(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart])) else {
        throw bad("header is not a JSON object")
    }

    struct Entry { let name: String; let dtype: TensorDType; let shape: [Int]; let begin: Int; let end: Int }
    var entries: [Entry] = []
    var metadata: [String: String] = [:]
    for (name, info) in members {
        if name == "__metadata__" {
            guard case .object(let pairs) = info else { throw bad("__metadata__ is \(info.kind), not an object") }
            for (k, v) in pairs {
                guard case .string(let s) = v else { throw bad("__metadata__ value \(quoted(k)) is \(v.kind), not a string") }
                metadata[k] = s
            }
            continue
        }
        guard case .object(let fields) = info else { throw bad("tensor \(quoted(name)) is described by \(info.kind)") }
        func field(_ key: String) throws -> JSON {
            guard let v = fields.first(where: { $0.key == key })?.value else { throw bad("tensor \(quoted(name)) has no \(key)") }
            return v
        }
        guard case .string(let dtype) = try field("dtype") else { throw bad("tensor \(quoted(name)): dtype is not a string") }
        guard let format = TensorDType(rawValue: dtype) else {
            throw knownDtypes.contains(dtype) ? CheckpointError.unsupportedDtype(tensor: name, dtype: dtype)
                                              : CheckpointError.unknownDtype(tensor: name, dtype: dtype)
        }
        guard case .array(let dims) = try field("shape") else { throw bad("tensor \(quoted(name)): shape is not an array") }
        let shape = try dims.map { d -> Int in
            guard let v = d.nonNegativeInt else { throw bad("tensor \(quoted(name)): shape entry is not a non-negative integer") }
            return v
        }
        guard case .array(let offsets) = try field("data_offsets"), offsets.count == 2,
              let begin = offsets[0].nonNegativeInt, let end = offsets[1].nonNegativeInt else {
            throw bad("tensor \(quoted(name)): data_offsets is not two non-negative integers")
        }
        guard begin <= end else { throw bad("tensor \(quoted(name)): data_offsets [\(begin), \(end)] run backwards") }
        guard let count = checkedProduct(shape) else { throw bad("tensor \(quoted(name)): shape \(shape) overflows") }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: format.elementBytes)
        guard !overflow, byteCount == end - begin else {
            throw CheckpointError.shapeMismatch(tensor: name, shape: shape, byteCount: end - begin)
        }
        entries.append(Entry(name: name, dtype: format, shape: shape, begin: begin, end: end))
    }

    // Tensors must tile the data section exactly: no gaps, no overlaps, no tail.
    entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
    var expected = 0
    for e in entries {
        guard e.begin == expected else {
            throw bad(e.begin < expected
                ? "tensor \(quoted(e.name)) at [\(e.begin), \(e.end)] overlaps the previous tensor, which ends at \(expected)"
                : "gap before tensor \(quoted(e.name)): it starts at \(e.begin) but the previous tensor ends at \(expected)")
        }
        expected = e.end
    }
    guard expected == dataSize else {
        throw bad("tensors end at byte \(expected) of the data section but it holds \(dataSize) bytes")
    }

    var result = StateDict(metadata: metadata, format: .safetensors)
    var scaleNames = Set<String>()
    for e in entries.sorted(by: { $0.name < $1.name }) where e.dtype == .int8 {
        scaleNames.insert(e.name + int8ScaleSuffix)
    }
    var scaleTensors: [String: Tensor] = [:]
    for e in entries {
        let count = (e.end - e.begin) / e.dtype.elementBytes
        switch e.dtype {
        case .float32:
            let tensor = Tensor(shape: e.shape, values: readFloats(bytes, at: dataStart + e.begin, count: count))
            if scaleNames.contains(e.name) { scaleTensors[e.name] = tensor } else { result.set(e.name, tensor) }
        case .bfloat16:
            let values = (0..<count).map { i in
                Float(bitPattern: UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: dataStart + e.begin + 2 * i,
                                                                                   as: UInt16.self))) << 16)
            }
            result.set(e.name, Tensor(shape: e.shape, bfloat16Values: values))
        case .int8:
            // Placeholder until its scales are read (they may come later in the file).
            let codes = (0..<count).map { Float(Int8(bitPattern: bytes[dataStart + e.begin + $0])) }
            result.set(e.name, Tensor(shape: e.shape, values: codes))
        }
    }
    // Fold each int8 tensor's scales (`NAME_scale`, shaped to broadcast over
    // one axis: [n, 1, 1] or [1, n, 1]) into its values.
    for e in entries where e.dtype == .int8 {
        let scaleName = e.name + int8ScaleSuffix
        guard let scale = scaleTensors[scaleName] else {
            throw bad("int8 tensor \(quoted(e.name)) has no float32 scales \(quoted(scaleName))")
        }
        // The one axis the scales run along. All-ones scales (one scale) run
        // along an axis of size 1, if the tensor has one.
        let axis = scale.shape.firstIndex(where: { $0 != 1 }) ?? e.shape.firstIndex(of: 1) ?? 0
        guard !e.shape.isEmpty, scale.shape.count == e.shape.count, scale.shape[axis] == e.shape[axis],
              scale.shape.indices.allSatisfy({ $0 == axis || scale.shape[$0] == 1 }) else {
            throw bad("scales \(quoted(scaleName)) \(scale.shape) do not broadcast along one axis of \(quoted(e.name)) \(e.shape)")
        }
        guard scale.values.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw bad("scales \(quoted(scaleName)) hold a negative or non-finite value")
        }
        let scales = scale.values
        var tensor = result.tensors[e.name]!
        let inner = tensor.stride(of: axis), size = e.shape[axis]
        for i in tensor.values.indices { tensor.values[i] *= scales[(i / inner) % size] }
        result.set(e.name, Tensor(shape: e.shape, int8Values: tensor.values, scales: scales, axis: axis))
    }
    return result
}

/// The name of an int8 tensor's scales in a safetensors file.
let int8ScaleSuffix = "_scale"

extension TensorDType {
    /// Bytes per stored element.
    var elementBytes: Int {
        switch self {
        case .float32: return 4
        case .bfloat16: return 2
        case .int8: return 1
        }
    }
}

/// The bytes of a safetensors file for `dict`, tensors in `dict.names` order.
func encodeSafetensors(_ dict: StateDict) throws -> [UInt8] {
    var order = dict.names
    var listed = Set<String>()
    for name in order {
        guard listed.insert(name).inserted else {
            throw CheckpointError.invalidTensor(name: name, reason: "listed twice in the state dict's names")
        }
    }
    order += dict.tensors.keys.filter { !listed.contains($0) }.sorted()

    var header = "{"
    var first = true
    func separator() { if !first { header += "," }; first = false }
    if !dict.metadata.isEmpty {
        separator()
        header += "\"__metadata__\":{"
        for (i, key) in dict.metadata.keys.sorted().enumerated() {
            if i > 0 { header += "," }
            appendJSONString(key, to: &header)
            header += ":"
            appendJSONString(dict.metadata[key] ?? "", to: &header)
        }
        header += "}"
    }
    // An int8 tensor is written with its scales right after it.
    var entries: [(name: String, tensor: Tensor)] = []
    for name in order {
        guard let t = dict.tensors[name] else {
            throw CheckpointError.invalidTensor(name: name, reason: "listed in names but has no tensor")
        }
        entries.append((name, t))
        if t.dtype == .int8, let scales = t.scales, let axis = t.scaleAxis {
            guard dict.tensors[name + int8ScaleSuffix] == nil else {
                throw CheckpointError.invalidTensor(name: name + int8ScaleSuffix,
                                                   reason: "the name of \(quoted(name))'s int8 scales is taken by another tensor")
            }
            var shape = [Int](repeating: 1, count: t.shape.count)
            shape[axis] = scales.count
            entries.append((name + int8ScaleSuffix, Tensor(shape: shape, values: scales)))
        }
    }
    var offset = 0
    var tensors: [Tensor] = []
    for (name, t) in entries {
        guard name != "__metadata__" else {
            throw CheckpointError.invalidTensor(name: name, reason: "the name is reserved for safetensors metadata")
        }
        guard let count = checkedProduct(t.shape), count == t.values.count else {
            throw CheckpointError.shapeMismatch(tensor: name, shape: t.shape, byteCount: 4 * t.values.count)
        }
        let bytes = count * t.dtype.elementBytes
        separator()
        appendJSONString(name, to: &header)
        header += ":{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],"
        header += "\"data_offsets\":[\(offset),\(offset + bytes)]}"
        offset += bytes
        tensors.append(t)
    }
    header += "}"
    // Pad with spaces, as the reference writer does, so the data starts 8-aligned.
    var headerBytes = Array(header.utf8)
    headerBytes += [UInt8](repeating: 0x20, count: (8 - headerBytes.count % 8) % 8)

    var out: [UInt8] = []
    out.reserveCapacity(8 + headerBytes.count + offset)
    withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out += $0 }
    out += headerBytes
    for t in tensors {
        switch t.dtype {
        case .float32:
            #if _endian(little)
            t.values.withUnsafeBytes { out.append(contentsOf: $0) }  // already the file's byte order
            #else
            for v in t.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
            #endif
        case .bfloat16:
            // The values are bf16 already: the top half of each float32 is exact.
            for v in t.values { withUnsafeBytes(of: UInt16(truncatingIfNeeded: v.bitPattern >> 16).littleEndian) { out += $0 } }
        case .int8:
            for code in t.int8Codes() { out.append(UInt8(bitPattern: code)) }
        }
    }
    return out
}
