/// A restricted pickle machine. It builds inert `PickleValue`s and nothing
/// else: no name a stream gives is ever looked up, and nothing is ever run.
///
/// GLOBAL and STACK_GLOBAL only record a name (`pickleGlobal`), of one of two kinds:
/// - A name on `allowedGlobal`'s list (OrderedDict, set, the tensor rebuilds,
///   the storage types). REDUCE, and NEWOBJ for OrderedDict, give it its
///   fixed meaning here; nothing else can be called.
/// - Any other dotted name is a class name, kept as text. A stream may move
///   it on the stack and through the memo, and do exactly two things with it:
///   NEWOBJ with an empty argument tuple (`cls.__new__(cls)`, how protocol 2
///   pickles every plain object, `nn.Module`s included) makes an inert
///   `PickleObject` record, which one BUILD with a dict gives its `__dict__`;
///   and a legacy torch module persistent id `('module', cls, file, source)`
///   may hold it, for the format's handler to turn back into the class name.
///   Every other use is refused with `refusedGlobal` naming it: calling it
///   (REDUCE, NEWOBJ with arguments, INST), BUILD on it, putting it into a
///   list, a dict or any other tuple, passing it as arguments, state or
///   persistent id, and ending the stream with it.
///
/// So a class is only ever the label of a record of data, and a stream that
/// calls anything off the list is refused by name, whatever it calls.
/// Resource use is capped so that a hostile stream fails with an error
/// rather than exhausting memory or the native stack.
struct Unpickler {
    /// Caps on what a stream may build. torch state dicts stay far below them.
    struct Limits {
        var maxStack = 1 << 20
        var maxMarks = 1 << 16
        var maxMemo = 1 << 22
        var maxDepth = 64
        var maxLongBytes = 1 << 10
    }

    /// Turns a persistent id (the tuple after BINPERSID) into a value, usually `.storage`.
    typealias PersistentLoad = (PickleValue) throws -> PickleValue

    private var reader: ByteReader
    private let persistentLoad: PersistentLoad
    private let limits: Limits
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// Prepares to read one pickle from `bytes[start..<end]`.
    init(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, to end: Int? = nil,
         limits: Limits = Limits(), persistentLoad: @escaping PersistentLoad) {
        reader = ByteReader(bytes, from: start, to: end, what: "pickle")
        self.persistentLoad = persistentLoad
        self.limits = limits
    }

    /// Offset just past the STOP opcode once `load()` has returned.
    var endOffset: Int { reader.offset }

    /// Runs the stream up to STOP and returns the object it built.
    mutating func load() throws -> PickleValue {
        while true {
            let at = reader.offset
            let byte = try reader.u8()
            guard let op = Opcode(rawValue: byte) else {
                throw CheckpointError.unsupportedOpcode(opcode: byte, offset: at)
            }
            if op == .stop {
                guard let result = stack.last else { throw malformed(at, "STOP with an empty stack") }
                try refuseClassName(result)
                return result
            }
            try execute(op, at: at)
        }
    }

    // MARK: - One opcode

    private mutating func execute(_ op: Opcode, at: Int) throws {
        switch op {
        case .stop:
            break  // handled by load()

        // Stack and memo.
        case .mark:
            guard marks.count < limits.maxMarks else {
                throw CheckpointError.limitExceeded(what: "pickle mark stack", limit: limits.maxMarks)
            }
            marks.append(stack.count)
        case .pop:
            // As in CPython: with nothing above the innermost mark, POP drops the mark.
            if stack.count > (marks.last ?? 0) { stack.removeLast() } else { _ = try popMark(at) }
        case .popMark:
            _ = try popMark(at)
        case .dup:
            try push(try top(at))
        case .put:
            try memoPut(try decimal(at), at)
        case .binPut:
            try memoPut(Int(try reader.u8()), at)
        case .longBinPut:
            try memoPut(Int(try reader.u32()), at)
        case .memoize:
            try memoPut(memo.count, at)
        case .get:
            try memoGet(try decimal(at), at)
        case .binGet:
            try memoGet(Int(try reader.u8()), at)
        case .longBinGet:
            try memoGet(Int(try reader.u32()), at)
        case .proto:
            let version = try reader.u8()
            guard version <= 5 else { throw malformed(at, "unknown pickle protocol \(version)") }
        case .frame:
            _ = try reader.u64()  // framing is a read-ahead hint; the opcodes follow inline

        // Scalars.
        case .none: try push(.none)
        case .newTrue: try push(.bool(true))
        case .newFalse: try push(.bool(false))
        case .int:
            let text = try textLine()
            if text == "00" { try push(.bool(false)) } else if text == "01" { try push(.bool(true)) } else {
                guard let v = Int(text) else { throw malformed(at, "bad INT literal") }
                try push(.int(v))
            }
        case .binInt: try push(.int(Int(try reader.i32())))
        case .binInt1: try push(.int(Int(try reader.u8())))
        case .binInt2: try push(.int(Int(try reader.u16())))
        case .long:
            var text = try textLine()
            if text.hasSuffix("L") { text.removeLast() }
            guard let v = Int(text) else { throw malformed(at, "LONG literal out of range or malformed") }
            try push(.int(v))
        case .long1:
            try push(try littleEndianInteger(count: Int(try reader.u8()), at))
        case .long4:
            let n = Int(try reader.i32())
            guard n >= 0 else { throw malformed(at, "negative LONG4 length") }
            guard n <= limits.maxLongBytes else {
                throw CheckpointError.limitExceeded(what: "pickle LONG4 length", limit: limits.maxLongBytes)
            }
            try push(try littleEndianInteger(count: n, at))
        case .float:
            guard let v = Double(try textLine()) else { throw malformed(at, "bad FLOAT literal") }
            try push(.float(v))
        case .binFloat:
            try push(.float(try reader.f64BigEndian()))

        // Strings and bytes.
        case .binUnicode: try push(.string(try utf8(count: Int(try reader.u32()), at)))
        case .shortBinUnicode: try push(.string(try utf8(count: Int(try reader.u8()), at)))
        case .binUnicode8: try push(.string(try utf8(count: try checkedInt(try reader.u64(), "pickle string length"), at)))
        case .binString:
            let n = Int(try reader.i32())
            guard n >= 0 else { throw malformed(at, "negative BINSTRING length") }
            try push(.bytes(Array(try reader.slice(n))))
        case .shortBinString: try push(.bytes(Array(try reader.slice(Int(try reader.u8())))))
        case .binBytes: try push(.bytes(Array(try reader.slice(Int(try reader.u32())))))
        case .shortBinBytes: try push(.bytes(Array(try reader.slice(Int(try reader.u8())))))
        case .binBytes8: try push(.bytes(Array(try reader.slice(try checkedInt(try reader.u64(), "pickle bytes length")))))
        case .string:
            // Protocol 0 repr string; accepted only in its simplest quoted form.
            let text = try textLine()
            guard text.count >= 2, let q = text.first, q == "'" || q == "\"", text.last == q,
                  !text.dropFirst().dropLast().contains("\\") else {
                throw malformed(at, "STRING literal with escapes is not supported")
            }
            try push(.bytes(Array(text.dropFirst().dropLast().utf8)))
        case .unicode:
            throw CheckpointError.unsupportedOpcode(opcode: op.rawValue, offset: at)

        // Containers.
        case .emptyTuple: try push(.makeTuple([]))
        case .tuple: try push(try tuple(try popMark(at), at))
        case .tuple1:
            let a = try pop(at)
            try push(try tuple([a], at))
        case .tuple2:
            let b = try pop(at), a = try pop(at)
            try push(try tuple([a, b], at))
        case .tuple3:
            let c = try pop(at), b = try pop(at), a = try pop(at)
            try push(try tuple([a, b, c], at))
        case .emptyList: try push(.list(PickleList()))
        case .list:
            let list = PickleList()
            try extend(list, with: try popMark(at), at)
            try push(.list(list))
        case .append:
            let item = try pop(at)
            guard case .list(let list) = try top(at) else { throw malformed(at, "APPEND to a non-list") }
            try extend(list, with: [item], at)
        case .appends:
            let items = try popMark(at)
            guard case .list(let list) = try top(at) else { throw malformed(at, "APPENDS to a non-list") }
            try extend(list, with: items, at)
        case .emptyDict: try push(.dict(PickleDict()))
        case .dict:
            let dict = PickleDict()
            try insert(into: dict, pairs: try popMark(at), at)
            try push(.dict(dict))
        case .setItem:
            let value = try pop(at), key = try pop(at)
            guard case .dict(let dict) = try top(at) else { throw malformed(at, "SETITEM on a non-dict") }
            try insert(into: dict, pairs: [key, value], at)
        case .setItems:
            let pairs = try popMark(at)
            guard case .dict(let dict) = try top(at) else { throw malformed(at, "SETITEMS on a non-dict") }
            try insert(into: dict, pairs: pairs, at)
        case .emptySet, .addItems, .frozenSet:
            throw CheckpointError.unsupportedOpcode(opcode: op.rawValue, offset: at)

        // Names and calls.
        case .global:
            let module = try textLine()
            let name = try textLine()
            try push(try pickleGlobal(module: module, name: name))
        case .stackGlobal:
            guard let name = try pop(at).asString, let module = try pop(at).asString else {
                throw malformed(at, "STACK_GLOBAL needs two strings")
            }
            try push(try pickleGlobal(module: module, name: name))
        case .inst:
            // INST both names and instantiates a class; check the name so a
            // hostile stream is refused by name, then refuse the opcode anyway.
            let module = try textLine()
            let name = try textLine()
            guard allowedGlobal(module: module, name: name) != nil else { throw refusal(module, name) }
            throw CheckpointError.unsupportedOpcode(opcode: op.rawValue, offset: at)
        case .reduce:
            let args = try pop(at)
            let callable = try pop(at)
            try refuseClassName(callable)
            try refuseClassName(args)
            try push(try call(callable, args, at))
        case .newObj:
            let args = try pop(at)
            let cls = try pop(at)
            if case .className(let c) = cls {
                // cls.__new__(cls) becomes an inert record; with arguments it would be a call.
                guard case .tuple(let a, _) = args, a.isEmpty else { throw refusal(c.module, c.name) }
                try push(.object(PickleObject(c)))
            } else {
                try refuseClassName(cls)
                try refuseClassName(args)
                guard case .global(let g) = cls, g.role == .orderedDict else {
                    throw malformed(at, "NEWOBJ of \(cls.kind) is not allowed")
                }
                try push(try call(cls, args, at))
            }
        case .build:
            let state = try pop(at)
            try refuseClassName(state)
            switch try top(at) {
            case .dict, .tensor, .list:
                // Attributes from a state (OrderedDict._metadata, tensor
                // hooks); none of them matter for the values, so it is dropped.
                break
            case .object(let object):
                try build(object, with: state, at)
            case .className(let c), .moduleID(let c):
                throw refusal(c.module, c.name)  // would set attributes of a class
            case let other:
                throw malformed(at, "BUILD on \(other.kind) is not allowed")
            }
        case .binPersId:
            let pid = try pop(at)
            if case .className(let c) = pid { throw refusal(c.module, c.name) }
            do {
                try push(try persistentLoad(pid))
            } catch CheckpointError.malformedPickle(_, let reason) {
                throw malformed(at, reason)  // the handler does not know where it was called from
            }
        case .persId, .newObjEx, .obj, .ext1, .ext2, .ext4, .byteArray8, .nextBuffer, .readonlyBuffer:
            throw CheckpointError.unsupportedOpcode(opcode: op.rawValue, offset: at)
        }
    }

    // MARK: - Allowed calls

    /// Interprets a REDUCE/NEWOBJ of an allowed global. Nothing is looked up
    /// or run: each allowed name has a fixed meaning here.
    private func call(_ callable: PickleValue, _ args: PickleValue, _ at: Int) throws -> PickleValue {
        guard case .global(let g) = callable else {
            throw malformed(at, "REDUCE of \(callable.kind): only allowed globals can be called")
        }
        guard case .tuple(let a, _) = args else { throw malformed(at, "REDUCE arguments of \(g) are not a tuple") }
        switch g.role {
        case .orderedDict:
            guard a.isEmpty else { throw malformed(at, "\(g) with arguments is not supported") }
            return .dict(PickleDict())
        case .rebuildTensorV2, .rebuildTensor:
            // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
            // _rebuild_tensor(storage, offset, size, stride)
            let arity = g.role == .rebuildTensor ? 4...4 : 6...7
            guard arity.contains(a.count) else {
                throw malformed(at, "\(g) takes \(arity.lowerBound) arguments, got \(a.count)")
            }
            guard case .storage(let storage) = a[0] else { throw malformed(at, "\(g): first argument is \(a[0].kind), not a storage") }
            guard let offset = a[1].asInt else { throw malformed(at, "\(g): storage offset is \(a[1].kind)") }
            let size = try intTuple(a[2], "size", g, at)
            let stride = try intTuple(a[3], "stride", g, at)
            guard size.count == stride.count else {
                throw malformed(at, "\(g): size has \(size.count) dimensions but stride has \(stride.count)")
            }
            return .tensor(TensorRef(storage: storage, offset: offset, size: size, stride: stride))
        case .rebuildParameter:
            // _rebuild_parameter(data, requires_grad, hooks): the parameter is its data.
            guard a.count == 3, case .tensor = a[0] else { throw malformed(at, "\(g) needs (tensor, bool, hooks)") }
            return a[0]
        case .set:
            // set(items): protocol 2 passes the items as one list, which stands for the set.
            if a.isEmpty { return .list(PickleList()) }
            guard a.count == 1, case .list = a[0] else { throw malformed(at, "\(g) takes one list of items") }
            return a[0]
        case .storageType:
            throw malformed(at, "\(g) may only appear inside a persistent id, not be called")
        }
    }

    /// Gives an object record its `__dict__`: once, from a dict, and only
    /// before the record is nested anywhere. A record is memoised before its
    /// state is pickled, so its own state could hold it; refusing BUILD on a
    /// nested record is what keeps such a cycle from being made (see `seal`).
    private func build(_ object: PickleObject, with state: PickleValue, _ at: Int) throws {
        guard case .dict(let dict) = state else {
            throw malformed(at, "BUILD state of a \(object.className) object is \(state.kind), not a dict")
        }
        guard object.state == nil else { throw malformed(at, "BUILD twice on one \(object.className) object") }
        guard !object.sealed else {
            throw malformed(at, "BUILD on a \(object.className) object that is already nested (recursive structure)")
        }
        try checkDepth(dict.depth + 1)
        seal(state)
        object.build(dict)
    }

    private func intTuple(_ v: PickleValue, _ what: String, _ g: PickleGlobal, _ at: Int) throws -> [Int] {
        guard case .tuple(let items, _) = v else { throw malformed(at, "\(g): \(what) is \(v.kind), not a tuple") }
        return try items.map { item in
            guard let i = item.asInt else { throw malformed(at, "\(g): \(what) holds \(item.kind)") }
            return i
        }
    }

    // MARK: - Helpers

    private func malformed(_ at: Int, _ reason: String) -> CheckpointError {
        .malformedPickle(offset: at, reason: reason)
    }

    /// Refuses a class name (bare or in a module persistent id) where the
    /// rule in the type's comment does not allow one.
    private func refuseClassName(_ v: PickleValue) throws {
        switch v {
        case .className(let c), .moduleID(let c): throw refusal(c.module, c.name)
        default: break
        }
    }

    /// The class of a legacy module persistent id `('module', cls, file,
    /// source)`, if `items` are one (file and source: str, bytes or None).
    private func moduleID(_ items: [PickleValue]) -> PickleClassName? {
        guard items.count == 4, case .className(let c) = items[1] else { return nil }
        let tag: String?
        switch items[0] {
        case .string(let s): tag = s
        case .bytes(let b): tag = String(validating: b, as: UTF8.self)
        default: tag = nil
        }
        guard tag == "module" else { return nil }
        for item in items[2...] {
            switch item {
            case .string, .bytes, .none: continue
            default: return nil
            }
        }
        return c
    }

    private mutating func push(_ v: PickleValue) throws {
        guard stack.count < limits.maxStack else {
            throw CheckpointError.limitExceeded(what: "pickle stack", limit: limits.maxStack)
        }
        stack.append(v)
    }

    /// Pops one value, refusing to reach below the innermost mark.
    private mutating func pop(_ at: Int) throws -> PickleValue {
        guard let last = stack.last, stack.count > (marks.last ?? 0) else {
            throw malformed(at, "stack underflow")
        }
        stack.removeLast()
        return last
    }

    private func top(_ at: Int) throws -> PickleValue {
        guard let last = stack.last, stack.count > (marks.last ?? 0) else {
            throw malformed(at, "stack underflow")
        }
        return last
    }

    /// Pops everything above the innermost mark, in push order.
    private mutating func popMark(_ at: Int) throws -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw malformed(at, "no MARK on the stack") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func memoPut(_ index: Int, _ at: Int) throws {
        guard index >= 0 else { throw malformed(at, "negative memo index") }
        let value = try top(at)
        guard memo.count < limits.maxMemo || memo[index] != nil else {
            throw CheckpointError.limitExceeded(what: "pickle memo", limit: limits.maxMemo)
        }
        memo[index] = value
    }

    private mutating func memoGet(_ index: Int, _ at: Int) throws {
        guard let value = memo[index] else { throw malformed(at, "memo index \(index) was never stored") }
        try push(value)
    }

    private func checkDepth(_ depth: Int) throws {
        guard depth <= limits.maxDepth else {
            throw CheckpointError.limitExceeded(what: "pickle nesting depth", limit: limits.maxDepth)
        }
    }

    /// Marks a list or dict as nested inside another container. A pickler
    /// always fills a container before nesting it, so only a recursive
    /// structure would change one afterwards; refusing that keeps every
    /// recorded depth exact (a stale depth would let a stream build nesting
    /// deep enough to overflow the stack when the values are freed).
    private func seal(_ v: PickleValue) {
        switch v {
        case .list(let l): l.sealed = true
        case .dict(let d): d.sealed = true
        case .object(let o): o.sealed = true
        default: break
        }
    }

    private func tuple(_ items: [PickleValue], _ at: Int) throws -> PickleValue {
        if let c = moduleID(items) { return .moduleID(c) }
        try items.forEach(refuseClassName)
        let t = PickleValue.makeTuple(items)
        try checkDepth(t.depth)
        items.forEach(seal)
        return t
    }

    /// Whether `item` is `container` itself. Sealing catches every other
    /// cycle (a container is sealed before anything can hold it), but not a
    /// container put into itself: that made a reference cycle, which leaked
    /// and was infinitely deep (found by the FuzzPickle target in its first
    /// seconds, as a LeakSanitizer report).
    private func isSelf(_ item: PickleValue, _ container: AnyObject) -> Bool {
        switch item {
        case .list(let l): return l === container
        case .dict(let d): return d === container
        default: return false
        }
    }

    private func extend(_ list: PickleList, with items: [PickleValue], _ at: Int) throws {
        guard !list.sealed else { throw malformed(at, "appending to a list that is already nested (recursive structure)") }
        guard !items.contains(where: { isSelf($0, list) }) else {
            throw malformed(at, "appending a list to itself (recursive structure)")
        }
        for item in items {
            try refuseClassName(item)
            try checkDepth(item.depth + 1)
            list.depth = max(list.depth, item.depth + 1)
            seal(item)
        }
        list.items.append(contentsOf: items)
    }

    private func insert(into dict: PickleDict, pairs: [PickleValue], _ at: Int) throws {
        guard pairs.count % 2 == 0 else { throw malformed(at, "odd number of items for a dict") }
        guard !dict.sealed else { throw malformed(at, "setting items of a dict that is already nested (recursive structure)") }
        guard !pairs.contains(where: { isSelf($0, dict) }) else {
            throw malformed(at, "putting a dict into itself (recursive structure)")
        }
        var i = 0
        while i < pairs.count {
            try refuseClassName(pairs[i])
            try refuseClassName(pairs[i + 1])
            let depth = max(pairs[i].depth, pairs[i + 1].depth) + 1
            try checkDepth(depth)
            dict.depth = max(dict.depth, depth)
            seal(pairs[i])
            seal(pairs[i + 1])
            dict.set(pairs[i], pairs[i + 1])
            i += 2
        }
    }

    /// A protocol 0 text argument (module name, number, memo index).
    private mutating func textLine() throws -> String {
        let at = reader.offset
        let raw = try reader.line()
        guard let s = String(validating: raw, as: UTF8.self) else { throw malformed(at, "text argument is not UTF-8") }
        return s
    }

    private mutating func decimal(_ at: Int) throws -> Int {
        guard let v = Int(try textLine()) else { throw malformed(at, "bad decimal memo index") }
        return v
    }

    private mutating func utf8(count: Int, _ at: Int) throws -> String {
        let raw = try reader.slice(count)
        guard let s = String(validating: raw, as: UTF8.self) else { throw malformed(at, "string is not valid UTF-8") }
        return s
    }

    /// A LONG1/LONG4 payload: two's complement little-endian of any length.
    private mutating func littleEndianInteger(count: Int, _ at: Int) throws -> PickleValue {
        let raw = try reader.slice(count)
        if count == 0 { return .int(0) }
        guard count <= 8 else { return .bigInt(Array(raw)) }
        var value: UInt64 = 0
        for i in 0..<count { value |= UInt64(raw[i]) << UInt64(8 * i) }
        if count < 8, raw[count - 1] & 0x80 != 0 {
            value |= ~0 << UInt64(8 * count)  // sign-extend
        }
        return .int(Int(Int64(bitPattern: value)))
    }
}
