/// Whole pickled modules (`torch.save(model, f)`, what the official
/// train.py writes): the top object is an inert `PickleObject` whose
/// `__dict__` holds `_parameters`, `_buffers` and `_modules`. This file
/// names their tensors the way `model.state_dict()` does.

/// The most dict entries (parameters, buffers, children) a module walk may
/// look at. Shared submodules are walked once per path, as `state_dict()`
/// does, so a small pickle sharing each level's child twice would otherwise
/// ask for 2^depth visits. Real models stay in the thousands.
let maxModuleWalkSteps = 1 << 17

/// The longest state-dict name a module walk builds (real ones are under 100
/// characters), so that long keys repeated through the memo cannot make
/// every name huge.
let maxModuleTensorNameLength = 512

/// What `walkModuleTree` found: tensors in `state_dict()` order, and the class
/// of each module by path ("" for the top module).
struct ModuleTree {
    var tensors: [(name: String, ref: TensorRef)] = []
    var classes: [String: String] = [:]
}

/// Names the tensors of a pickled module tree as `state_dict()` does: each
/// module's own parameters (None ones skipped), then its persistent buffers,
/// then each child in `_modules` order, prefixed by the path of `_modules`
/// keys. A module reached under two names (TCN's `net.0` is `conv1`) gives
/// its tensors under both. Plain tensor attributes (weight norm's `weight`)
/// are not part of the state dict and are ignored, as is everything else in
/// `__dict__`. Nothing about a class is assumed beyond its name.
func walkModuleTree(_ top: PickleObject) throws -> ModuleTree {
    var walker = ModuleWalker()
    try walker.walk(top, path: "")
    guard !walker.tree.tensors.isEmpty else {
        throw CheckpointError.invalidModule(path: "", className: top.className.description,
                                            reason: "has no parameters or buffers in its whole tree")
    }
    return walker.tree
}

private struct ModuleWalker {
    var tree = ModuleTree()
    var steps = 0
    var names: Set<String> = []
    /// Modules on the current path, to refuse a cycle. (The unpickler cannot
    /// build one, see `Unpickler.build`; this keeps the walk safe regardless.)
    var onPath: Set<ObjectIdentifier> = []

    mutating func walk(_ module: PickleObject, path: String) throws {
        let className = module.className.description
        func invalid(_ reason: String) -> CheckpointError {
            .invalidModule(path: path, className: className, reason: reason)
        }
        guard onPath.insert(ObjectIdentifier(module)).inserted else { throw invalid("contains itself (cyclic _modules)") }
        defer { onPath.remove(ObjectIdentifier(module)) }
        try step()
        tree.classes[path] = className

        guard let state = module.state else { throw invalid("has no __dict__ (never built)") }
        func dict(_ key: String) throws -> PickleDict? {
            guard let value = state[key] else { return nil }
            guard case .dict(let d) = value else { throw invalid("has \(key) that is \(value.kind), not a dict") }
            return d
        }
        guard let parameters = try dict("_parameters"), let modules = try dict("_modules") else {
            throw invalid("has no _parameters or _modules in its __dict__: not a torch module")
        }
        let buffers = try dict("_buffers")
        // Buffers registered with persistent=False are not in state_dict().
        var nonPersistent: Set<String> = []
        if case .list(let l)? = state["_non_persistent_buffers_set"] {
            for item in l.items { if let s = item.asString { nonPersistent.insert(s) } }
        }

        let prefix = path.isEmpty ? "" : path + "."
        for (what, source) in [("parameter", parameters), ("buffer", buffers)] {
            guard let source else { continue }
            for (key, value) in source.entries {
                try step()
                let name = try self.key(key, what, invalid)
                if what == "buffer" && nonPersistent.contains(name) { continue }
                switch value {
                case .none: continue  // e.g. a conv built with bias=False
                case .tensor(let ref): try add(prefix + name, ref, invalid)
                default: throw invalid("has \(what) \(quoted(name)) that is \(value.kind), not a tensor")
                }
            }
        }
        for (key, value) in modules.entries {
            try step()
            let name = try self.key(key, "child", invalid)
            switch value {
            case .none: continue  // torch allows a None submodule; it has no tensors
            case .object(let child): try walk(child, path: prefix + name)
            default: throw invalid("has child \(quoted(name)) that is \(value.kind), not a module")
            }
        }
    }

    mutating func step() throws {
        steps += 1
        guard steps <= maxModuleWalkSteps else {
            throw CheckpointError.limitExceeded(what: "entries walked in the pickled module tree", limit: maxModuleWalkSteps)
        }
    }

    func key(_ key: PickleValue, _ what: String, _ invalid: (String) -> CheckpointError) throws -> String {
        guard let s = key.asString, !s.isEmpty else { throw invalid("has a \(what) named by \(key.kind), not a non-empty str") }
        return s
    }

    mutating func add(_ name: String, _ ref: TensorRef, _ invalid: (String) -> CheckpointError) throws {
        guard name.utf8.count <= maxModuleTensorNameLength else {
            throw invalid("has a tensor name longer than \(maxModuleTensorNameLength) bytes")
        }
        // Only keys with dots can collide; torch would silently keep the last.
        guard names.insert(name).inserted else { throw invalid("gives a second tensor the name \(quoted(name))") }
        tree.tensors.append((name, ref))
    }
}
