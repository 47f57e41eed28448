/// A value produced by the restricted unpickler. Only inert data: nothing in
/// here can refer to code. Lists and dicts are reference types because pickle
/// mutates them after they were memoised (APPEND, SETITEM on a shared object).
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too large for `Int`: two's complement little-endian bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// A tuple with its precomputed nesting depth (tuples may share children
    /// through the memo, so depth is never recomputed by walking them).
    case tuple([PickleValue], depth: Int)
    case list(PickleList)
    case dict(PickleDict)
    /// A name from GLOBAL/STACK_GLOBAL that passed the allow-list. Never resolved.
    case global(PickleGlobal)
    /// Any other name from GLOBAL/STACK_GLOBAL, taken to be a class: text
    /// only, never resolved. `Unpickler` says what a stream may do with it.
    case className(PickleClassName)
    /// A legacy torch module persistent id `('module', class, file, source)`:
    /// the one tuple a class name may sit in (file and source are dropped).
    case moduleID(PickleClassName)
    /// An object made by NEWOBJ of a class name (a pickled `nn.Module`, a
    /// weight-norm hook): the class name and the `__dict__` BUILD gave it.
    case object(PickleObject)
    /// A storage reference produced by the format's persistent-id handler.
    case storage(StorageRef)
    /// The recorded arguments of an allowed tensor-rebuild call.
    case tensor(TensorRef)

    /// Nesting depth, kept bounded so that destroying or walking a value
    /// cannot overflow the native stack.
    var depth: Int {
        switch self {
        case .tuple(_, let depth): return depth
        case .list(let l): return l.depth
        case .dict(let d): return d.depth
        case .object(let o): return o.depth
        default: return 1
        }
    }

    /// A short name of the kind of value, for error messages.
    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let g): return "global \(g)"
        case .className(let c): return "class \(c)"
        case .moduleID(let c): return "module persistent id of \(c)"
        case .object(let o): return "\(o.className) object"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }

    /// Makes a tuple, computing its depth from its (already bounded) items.
    static func makeTuple(_ items: [PickleValue]) -> PickleValue {
        var d = 0
        for item in items { d = max(d, item.depth) }
        return .tuple(items, depth: d + 1)
    }

    var asString: String? { if case .string(let s) = self { return s } else { return nil } }
    var asInt: Int? { if case .int(let i) = self { return i } else { return nil } }
}

/// A mutable pickle list.
final class PickleList {
    var items: [PickleValue] = []
    var depth = 1
    /// Set once the list is inside another container; see `Unpickler.seal`.
    var sealed = false
}

/// A mutable pickle dict (or OrderedDict), keeping insertion order.
final class PickleDict {
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    /// Index of each string key, so that repeated keys replace like Python does.
    private var stringIndex: [String: Int] = [:]
    var depth = 1
    /// Set once the dict is inside another container; see `Unpickler.seal`.
    var sealed = false

    func set(_ key: PickleValue, _ value: PickleValue) {
        if let s = key.asString {
            if let i = stringIndex[s] {
                entries[i].value = value
                return
            }
            stringIndex[s] = entries.count
        }
        entries.append((key, value))
    }

    /// The value for a string key, if present.
    subscript(key: String) -> PickleValue? {
        guard let i = stringIndex[key] else { return nil }
        return entries[i].value
    }
}

/// `module.qualname` of a class a pickle names, as text. Both parts are
/// dotted Python identifiers (checked by `pickleGlobal`), so the name is
/// safe to print as it is.
struct PickleClassName: CustomStringConvertible, Equatable {
    let module: String
    let name: String

    var description: String { "\(module).\(name)" }
}

/// An inert instance of a pickled class: NEWOBJ creates it without state,
/// BUILD gives it its `__dict__` once. Nothing of the class is ever run.
final class PickleObject {
    let className: PickleClassName
    private(set) var state: PickleDict?
    var depth = 1
    /// Set once the object is inside a container; see `Unpickler.seal`.
    var sealed = false

    init(_ className: PickleClassName) { self.className = className }

    /// Gives the object its `__dict__`; the unpickler checks when that is allowed.
    func build(_ dict: PickleDict) {
        state = dict
        depth = dict.depth + 1
    }
}

/// `module.name` of an allowed global, with what the reader knows it to be.
struct PickleGlobal: CustomStringConvertible, Equatable {
    enum Role: Equatable {
        case orderedDict
        case rebuildTensorV2
        case rebuildTensor
        case rebuildParameter
        /// `set(list)`, as protocol 2 pickles a set; it becomes that list.
        case set
        /// A torch storage class; `elementSize` bytes per element.
        case storageType(elementSize: Int)
    }
    let module: String
    let name: String
    let role: Role

    var description: String { "\(module).\(name)" }
}

/// A storage as named by a persistent id: which record holds its bytes and
/// how they are typed. For legacy views, `elementOffset`/`numel` select part
/// of the root storage.
struct StorageRef {
    let typeName: String
    let elementSize: Int
    let key: String
    let numel: Int
    let elementOffset: Int
}

/// The arguments of `_rebuild_tensor_v2(storage, offset, size, stride, ...)`.
struct TensorRef {
    let storage: StorageRef
    let offset: Int
    let size: [Int]
    let stride: [Int]
}
