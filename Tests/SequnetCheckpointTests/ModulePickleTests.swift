import Foundation
import XCTest
@testable import SequnetCheckpoint

/// Whole pickled modules (`torch.save(model, f)`, what the official train.py
/// writes): read as inert records, walked into the state dict torch's
/// `model.state_dict()` gives, without ever resolving or calling a class.
final class ModulePickleTests: XCTestCase {
    static let symbolic = ["music_sequnet_jsb", "music_tcn_jsb", "char_sequnet_small", "char_tcn_small"]

    static func symbolicPath(_ file: String) -> String {
        Fixture.root.appendingPathComponent("symbolic").appendingPathComponent(file).path
    }

    // MARK: - Real checkpoints

    func testEachOfficialModulePickleWalksToExactlyItsStateDict() throws {
        for name in Self.symbolic {
            let module = try readCheckpoint(atPath: Self.symbolicPath(name + ".pt"))
            let state = try readCheckpoint(atPath: Self.symbolicPath(name + ".state.pt"))
            XCTAssertEqual(module.format, .torchLegacy, name)
            XCTAssertEqual(state.format, .torchZip, name)
            assertSameTensors(module, state, name)
        }
    }

    func testModuleClassesAreReportedByPathAsThePickleNamesThem() throws {
        let sequnet = try readCheckpoint(atPath: Self.symbolicPath("music_sequnet_jsb.pt"))
        XCTAssertEqual(sequnet.moduleClasses[""], "model.TCN")
        XCTAssertEqual(sequnet.moduleClasses["conv"], "sequnet.Sequnet")
        XCTAssertEqual(sequnet.moduleClasses["conv.downsampling_blocks.0"], "sequnet.DownsamplingBlock")
        XCTAssertEqual(sequnet.moduleClasses["conv.downsampling_blocks"], "torch.nn.modules.container.ModuleList")

        let tcn = try readCheckpoint(atPath: Self.symbolicPath("char_tcn_small.pt"))
        XCTAssertEqual(tcn.moduleClasses[""], "model.TCN")
        XCTAssertEqual(tcn.moduleClasses["conv"], "tcn.TemporalConvNet")
        XCTAssertEqual(tcn.moduleClasses["conv.network.0"], "tcn.TemporalBlock")
        XCTAssertEqual(tcn.moduleClasses["conv.network.0.chomp1"], "tcn.Chomp1d")
    }

    func testTCNWeightNormGivesGAndVUnderBothNamesOfTheSharedConv() throws {
        // conv1 and net.0 are one object in the pickle (memo); state_dict()
        // names its tensors under both paths. The plain `weight` attribute
        // weight norm leaves in __dict__ is not a parameter.
        let tcn = try readCheckpoint(atPath: Self.symbolicPath("music_tcn_jsb.pt"))
        for prefix in ["conv.network.0.conv1.", "conv.network.0.net.0."] {
            XCTAssertNotNil(tcn.tensors[prefix + "weight_g"], prefix)
            XCTAssertNotNil(tcn.tensors[prefix + "weight_v"], prefix)
            XCTAssertNil(tcn.tensors[prefix + "weight"], prefix)
        }
        XCTAssertEqual(tcn.tensors["conv.network.0.conv1.weight_v"], tcn.tensors["conv.network.0.net.0.weight_v"])
    }

    func testStateDictFilesReportNoModuleClasses() throws {
        XCTAssertTrue(try readCheckpoint(atPath: Self.symbolicPath("char_tcn_small.state.pt")).moduleClasses.isEmpty)
    }

    // MARK: - Small fixtures of tools/make_module_fixtures.py

    func testZipModulePickleOfTorch113WalksToItsStateDict() throws {
        let module = try readCheckpoint(atPath: Fixture.checkpoint("module_tree.pt"))
        let state = try readCheckpoint(atPath: Fixture.checkpoint("module_tree.state.pt"))
        XCTAssertEqual(module.format, .torchZip)
        assertSameTensors(module, state, "module_tree.pt")
        // The top module's own buffer first, then children; the non-persistent
        // buffer and the None bias are not there.
        XCTAssertEqual(module.names.first, "scale")
        XCTAssertNil(module.tensors["scratch"])
        XCTAssertNil(module.tensors["head.bias"])
        XCTAssertEqual(module.moduleClasses, [
            "": "tiny_model.Tiny", "conv": "torch.nn.modules.conv.Conv1d",
            "body": "torch.nn.modules.container.Sequential", "body.0": "torch.nn.modules.conv.Conv1d",
            "body.1": "torch.nn.modules.activation.LeakyReLU", "body.2": "torch.nn.modules.conv.ConvTranspose1d",
            "head": "torch.nn.modules.linear.Linear",
        ])
    }

    func testLegacyModulePickleOfTheSameTreeReadsTheSame() throws {
        let legacy = try readCheckpoint(atPath: Fixture.checkpoint("module_tree.legacy.pt"))
        let zip = try readCheckpoint(atPath: Fixture.checkpoint("module_tree.pt"))
        XCTAssertEqual(legacy.format, .torchLegacy)
        assertSameTensors(legacy, zip, "module_tree.legacy.pt")
        XCTAssertEqual(legacy.moduleClasses, zip.moduleClasses)
    }

    func testModuleWithFloat64TensorsIsRefusedNamingTheStorageType() {
        let error = assertRefused(path: Fixture.checkpoint("module_float64.pt"))
        XCTAssertEqual(error, .unsupportedStorage(tensor: "scale", storageType: "torch.DoubleStorage"))
    }

    func testModuleWithoutParametersIsRefused() {
        let error = assertRefused(path: Fixture.checkpoint("module_no_parameters.pt"))
        XCTAssertEqual(error, .invalidModule(path: "", className: "torch.nn.modules.activation.ReLU",
                                             reason: "has no parameters or buffers in its whole tree"))
        XCTAssertEqual(error?.description,
                       "pickled torch module: top module (torch.nn.modules.activation.ReLU) has no parameters or buffers in its whole tree")
    }

    func testTheNotAStateDictErrorSaysModulesAreAcceptedToo() {
        // A torch zip whose data.pkl is [1, 2, 3].
        let error = assertRefused(path: Fixture.checkpoint("broken/not_a_state_dict.pt"))
        XCTAssertEqual(error?.description, "not a state dict or a pickled torch module: the pickled object is a list, not a dict or a module")
    }

    // MARK: - Classes are labels, never resolved or called

    func testAnyClassNameMakesOnlyAnInertRecord() throws {
        // os.system "instantiated" with NEWOBJ and given a __dict__ by BUILD:
        // nothing looks the name up, so it is a label on a dict like any other.
        var p = PickleBuilder()
        p.module("os.system", parameters: [("weight", { $0.tensor(numel: 3) })])
        p.stop()
        let dict = try readModulePickle(p.bytes)
        XCTAssertEqual(dict.names, ["weight"])
        XCTAssertEqual(dict.moduleClasses, ["": "os.system"])
        assertNotPwned()
    }

    func testARecordThatIsNotAModuleIsRefusedNamingItsClass() {
        // NEWOBJ os.system, BUILD {}: no _parameters, no _modules.
        var p = PickleBuilder()
        p.global("os", "system"); p.op(0x29, 0x81); p.op(0x7d, 0x62); p.stop()
        XCTAssertEqual(assertModuleRefused(p.bytes),
                       .invalidModule(path: "", className: "os.system",
                                      reason: "has no _parameters or _modules in its __dict__: not a torch module"))
    }

    func testCallingAGlobalInsideAModulesDictIsRefusedByName() {
        for (module, name) in [("os", "system"), ("builtins", "eval"), ("subprocess", "Popen"), ("posix", "system")] {
            var p = PickleBuilder()
            p.module("sequnet.Sequnet", extra: [("hook", {
                $0.global(module, name); $0.str("touch \(Fixture.expected.pwned_marker)"); $0.op(0x85, 0x52)  // TUPLE1 REDUCE
            })])
            p.stop()
            XCTAssertEqual(assertModuleRefused(p.bytes), .refusedGlobal("\(module).\(name)"))
        }
        assertNotPwned()
    }

    func testNewObjWithArgumentsIsACallAndIsRefused() {
        var p = PickleBuilder()
        p.global("subprocess", "Popen"); p.str("sh"); p.op(0x85, 0x81, 0x2e)  // TUPLE1 NEWOBJ STOP
        XCTAssertEqual(assertModuleRefused(p.bytes), .refusedGlobal("subprocess.Popen"))
    }

    func testBuildOnAClassIsRefused() {
        var p = PickleBuilder()
        p.global("os", "environ"); p.op(0x7d, 0x62, 0x2e)  // EMPTY_DICT BUILD STOP
        XCTAssertEqual(assertModuleRefused(p.bytes), .refusedGlobal("os.environ"))
    }

    func testAClassNameCannotBeKeptAsData() {
        // In a dict, in a list, in a tuple that is not a module persistent id.
        var inDict = PickleBuilder()
        inDict.op(0x7d); inDict.str("x"); inDict.global("os", "system"); inDict.op(0x73, 0x2e)
        var inList = PickleBuilder()
        inList.op(0x5d); inList.global("os", "system"); inList.op(0x61, 0x2e)
        var inTuple = PickleBuilder()
        inTuple.str("module"); inTuple.global("os", "system"); inTuple.op(0x86, 0x2e)  // 2 items only
        for p in [inDict, inList, inTuple] {
            XCTAssertEqual(assertModuleRefused(p.bytes), .refusedGlobal("os.system"))
        }
    }

    func testANameThatIsNotAPythonIdentifierIsRefused() {
        var p = PickleBuilder()
        p.global("os", "system; rm"); p.op(0x29, 0x81, 0x2e)
        XCTAssertEqual(assertModuleRefused(p.bytes), .refusedGlobal("os.system; rm"))
    }

    func testAModulePersistentIdIsOnlyValidInALegacyFile() {
        // ('module', cls, file, source) as a zip file's persistent id.
        var p = PickleBuilder()
        p.op(0x28); p.str("module"); p.global("sequnet", "Sequnet"); p.str("sequnet.py"); p.op(0x4e, 0x74, 0x51)  // None TUPLE BINPERSID
        p.op(0x29, 0x81, 0x2e)
        guard case .malformedPickle(_, let reason)? = assertModuleRefused(p.bytes) else { return XCTFail("expected malformedPickle") }
        XCTAssertTrue(reason.contains("outside a legacy torch file"), reason)
    }

    func testSetsAndHookObjectsAreInertData() throws {
        // set(['a']) as protocol 2 writes it, and a WeightNorm-like hook record.
        var p = PickleBuilder()
        p.global("__builtin__", "set"); p.op(0x5d); p.str("a"); p.op(0x61, 0x85, 0x52, 0x2e)
        guard case .list(let list) = try unpickle(p.bytes) else { return XCTFail("a set becomes a list") }
        XCTAssertEqual(list.items.compactMap(\.asString), ["a"])

        var hook = PickleBuilder()
        hook.module("m.M", parameters: [("w", { $0.tensor(numel: 1) })], extra: [("_forward_pre_hooks", {
            $0.op(0x7d); $0.int(0); $0.global("torch.nn.utils.weight_norm", "WeightNorm"); $0.op(0x29, 0x81, 0x7d)
            $0.str("name"); $0.str("weight"); $0.op(0x73, 0x62, 0x73)  // SETITEM BUILD SETITEM
        })])
        hook.stop()
        XCTAssertEqual(try readModulePickle(hook.bytes).names, ["w"])
    }

    // MARK: - Hostile trees: one-line errors, never a crash or a hang

    func testACycleThroughModulesIsRefused() {
        // The top module's _modules holds the module itself (memo 0), before its BUILD.
        var p = PickleBuilder()
        p.global("m", "M"); p.op(0x29, 0x81); p.put(0)
        p.op(0x7d, 0x28); p.str("_parameters"); p.op(0x7d); p.str("_modules"); p.op(0x7d, 0x28)
        p.str("self"); p.get(0); p.op(0x75, 0x75, 0x62, 0x2e)  // SETITEMS SETITEMS BUILD STOP
        guard case .malformedPickle(_, let reason)? = assertModuleRefused(p.bytes) else { return XCTFail("expected malformedPickle") }
        XCTAssertTrue(reason.contains("recursive structure"), reason)
    }

    func testModulesThatIsNotADictIsRefused() {
        var p = PickleBuilder()
        p.module("m.M", parameters: [("w", { $0.tensor(numel: 1) })], extra: [("_modules", { $0.op(0x5d) })])
        p.stop()
        XCTAssertEqual(assertModuleRefused(p.bytes),
                       .invalidModule(path: "", className: "m.M", reason: "has _modules that is list, not a dict"))
    }

    func testAParameterThatIsNotATensorIsRefused() {
        var p = PickleBuilder()
        p.module("m.Top", modules: [("child", { $0.module("m.Child", parameters: [("weight", { $0.int(3) })]) })])
        p.stop()
        XCTAssertEqual(assertModuleRefused(p.bytes)?.description,
                       "pickled torch module: module 'child' (m.Child) has parameter 'weight' that is int, not a tensor")
    }

    func testAChildThatIsNotAModuleIsRefused() {
        var p = PickleBuilder()
        p.module("m.Top", parameters: [("w", { $0.tensor(numel: 1) })], modules: [("child", { $0.str("x") })])
        p.stop()
        XCTAssertEqual(assertModuleRefused(p.bytes),
                       .invalidModule(path: "", className: "m.Top", reason: "has child 'child' that is str, not a module"))
    }

    func testAChildThatWasNeverBuiltIsRefused() {
        var p = PickleBuilder()
        p.module("m.Top", modules: [("child", { $0.global("m", "Child"); $0.op(0x29, 0x81) })])
        p.stop()
        XCTAssertEqual(assertModuleRefused(p.bytes),
                       .invalidModule(path: "child", className: "m.Child", reason: "has no __dict__ (never built)"))
    }

    func testBuildingARecordTwiceOrFromAListIsRefused() {
        var twice = PickleBuilder()
        twice.global("m", "M"); twice.op(0x29, 0x81, 0x7d, 0x62, 0x7d, 0x62, 0x2e)
        var fromList = PickleBuilder()
        fromList.global("m", "M"); fromList.op(0x29, 0x81, 0x5d, 0x62, 0x2e)
        for p in [twice, fromList] {
            guard case .malformedPickle? = assertModuleRefused(p.bytes) else { return XCTFail("expected malformedPickle") }
        }
    }

    func testTwoTensorsWithOneNameAreRefused() {
        // Parameter 'a.b' of the top module and parameter 'b' of child 'a'.
        var p = PickleBuilder()
        p.module("m.Top", parameters: [("a.b", { $0.tensor(numel: 1) })],
                 modules: [("a", { $0.module("m.Child", parameters: [("b", { $0.tensor(numel: 2) })]) })])
        p.stop()
        XCTAssertEqual(assertModuleRefused(p.bytes),
                       .invalidModule(path: "a", className: "m.Child", reason: "gives a second tensor the name 'a.b'"))
    }

    func testDeeplyNestedModulesHitTheDepthLimit() {
        var p = PickleBuilder()
        func nest(_ p: inout PickleBuilder, _ level: Int) {
            if level == 0 { return p.module("m.Leaf", parameters: [("w", { $0.tensor(numel: 1) })]) }
            p.module("m.Level", modules: [("c", { nest(&$0, level - 1) })])
        }
        nest(&p, 100)
        p.stop()
        XCTAssertEqual(assertModuleRefused(p.bytes), .limitExceeded(what: "pickle nesting depth", limit: 64))
    }

    func testSharingEachChildTwiceCannotMakeTheWalkExplode() {
        // Level i's _modules holds level i-1 twice (memo): 2^18 paths from
        // a few kB. state_dict() would walk them all; the walk stops at its cap.
        var p = PickleBuilder()
        p.module("m.Leaf", parameters: [("w", { $0.tensor(numel: 0) })])
        p.put(0)
        for level in 1...18 {
            p.module("m.Level", modules: [("a", { $0.get(level - 1) }), ("b", { $0.get(level - 1) })])
            p.put(level)
        }
        p.stop()
        let start = Date()
        XCTAssertEqual(assertModuleRefused(p.bytes),
                       .limitExceeded(what: "entries walked in the pickled module tree", limit: maxModuleWalkSteps))
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }

    func testAKeyThatIsNotAStringIsRefused() {
        // A module whose _modules is {1: child}.
        var q = PickleBuilder()
        q.global("m", "Top"); q.op(0x29, 0x81, 0x7d, 0x28)
        q.str("_parameters"); q.op(0x7d); q.str("_modules"); q.op(0x7d); q.int(1)
        q.module("m.Child", parameters: [("w", { $0.tensor(numel: 1) })])
        q.op(0x73, 0x75, 0x62, 0x2e)  // SETITEM SETITEMS BUILD STOP
        XCTAssertEqual(assertModuleRefused(q.bytes),
                       .invalidModule(path: "", className: "m.Top", reason: "has a child named by int, not a non-empty str"))
    }

    // MARK: - Helpers

    private func assertNotPwned(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(FileManager.default.fileExists(atPath: Fixture.expected.pwned_marker), "a pickle ran code",
                       file: file, line: line)
    }

    private func assertSameTensors(_ a: StateDict, _ b: StateDict, _ what: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.names, b.names, what, file: file, line: line)
        for name in b.names {
            guard let x = a.tensors[name], let y = b.tensors[name] else { continue }
            XCTAssertEqual(x.shape, y.shape, "\(what) \(name)", file: file, line: line)
            XCTAssertEqual(x.values.map(\.bitPattern), y.values.map(\.bitPattern), "\(what) \(name)", file: file, line: line)
        }
    }
}

// MARK: - Building pickles by hand

/// A protocol 2 pickle written opcode by opcode, for hostile module trees.
/// Tensors use torch zip persistent ids; `readModulePickle` gives them storage.
struct PickleBuilder {
    var bytes: [UInt8] = [0x80, 0x02]
    private var storages = 0

    mutating func op(_ codes: UInt8...) { bytes += codes }
    mutating func stop() { op(0x2e) }
    mutating func str(_ s: String) {
        let utf8 = Array(s.utf8)
        bytes += [0x58] + le32(utf8.count) + utf8
    }
    mutating func int(_ v: Int) { bytes += [0x4a] + le32(v) }
    mutating func global(_ module: String, _ name: String) { bytes += [0x63] + Array("\(module)\n\(name)\n".utf8) }
    mutating func put(_ i: Int) { bytes += [0x72] + le32(i) }
    mutating func get(_ i: Int) { bytes += [0x6a] + le32(i) }

    /// `_rebuild_tensor_v2(storage, 0, (numel,), (1,), False, None)` with a fresh storage key.
    mutating func tensor(numel: Int) {
        storages += 1
        global("torch._utils", "_rebuild_tensor_v2")
        op(0x28, 0x28); str("storage"); global("torch", "FloatStorage"); str("s\(storages)"); str("cpu"); int(numel)
        op(0x74, 0x51)  // TUPLE BINPERSID
        int(0); int(numel); op(0x85); int(1); op(0x85, 0x89, 0x4e, 0x74, 0x52)  // (n,) (1,) False None TUPLE REDUCE
    }

    /// `cls.__new__(cls)` and BUILD with a module `__dict__`: `_parameters`,
    /// `_buffers` (empty) and `_modules`, plus `extra` entries (which may
    /// replace those three), each a key and what emits its value.
    mutating func module(_ cls: String, parameters: [(String, (inout PickleBuilder) -> Void)] = [],
                         modules: [(String, (inout PickleBuilder) -> Void)] = [],
                         extra: [(String, (inout PickleBuilder) -> Void)] = []) {
        let dot = cls.lastIndex(of: ".")!
        global(String(cls[..<dot]), String(cls[cls.index(after: dot)...]))
        op(0x29, 0x81, 0x7d, 0x28)  // EMPTY_TUPLE NEWOBJ EMPTY_DICT MARK
        str("_parameters"); dict(parameters)
        str("_buffers"); op(0x7d)
        str("_modules"); dict(modules)
        for (key, emit) in extra { str(key); emit(&self) }
        op(0x75, 0x62)  // SETITEMS BUILD
    }

    private mutating func dict(_ items: [(String, (inout PickleBuilder) -> Void)]) {
        op(0x7d)
        guard !items.isEmpty else { return }
        op(0x28)
        for (key, emit) in items { str(key); emit(&self) }
        op(0x75)
    }

    private func le32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: Int32(truncatingIfNeeded: v).littleEndian) { Array($0) } }
}

/// Runs the unpickler alone with torch zip persistent ids.
private func unpickle(_ bytes: [UInt8]) throws -> PickleValue {
    try bytes.withUnsafeBytes { raw in
        var unpickler = Unpickler(raw) { pid in .storage(try storageRef(fromPersistentID: pid, legacy: false)) }
        return try unpickler.load()
    }
}

/// Reads a hand-built data.pkl as the torch zip reader would, every storage
/// being the same 4 kB of float32 values.
func readModulePickle(_ bytes: [UInt8]) throws -> StateDict {
    let storage = [Float](repeating: 0.5, count: 1024)
    let object = try unpickle(bytes)
    return try storage.withUnsafeBytes { storageBytes in
        try makeStateDict(from: object, format: .torchZip, fileSize: bytes.count) { _ in storageBytes }
    }
}

/// Asserts that reading a hand-built data.pkl throws a one-line CheckpointError.
@discardableResult
func assertModuleRefused(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> CheckpointError? {
    do {
        _ = try readModulePickle(bytes)
        XCTFail("expected a CheckpointError", file: file, line: line)
        return nil
    } catch let error as CheckpointError {
        XCTAssertFalse(error.description.contains("\n"), "error must be one line: \(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected a CheckpointError, got \(error)", file: file, line: line)
        return nil
    }
}
