import Foundation
import XCTest
@testable import SequnetCheckpoint

/// The restricted unpickler: nothing outside the allow-list is ever named,
/// let alone run, and hostile streams fail with errors, not crashes.
final class PickleSecurityTests: XCTestCase {
    let marker = Fixture.expected.pwned_marker

    override func setUp() {
        try? FileManager.default.removeItem(atPath: marker)
    }

    private func assertNotPwned(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the pickle's command ran", file: file, line: line)
    }

    func testStandaloneMaliciousPickleIsRefusedNamingOsSystem() {
        let error = assertRefused(path: Fixture.checkpoint("malicious.pkl"))
        XCTAssertEqual(error, .refusedGlobal("os.system"))
        XCTAssertEqual(error?.description,
                       "refusing pickle global os.system: only tensor-rebuild functions are allowed")
        assertNotPwned()
    }

    func testMaliciousPickleInsideATorchZipIsRefusedNamingOsSystem() {
        XCTAssertEqual(assertRefused(path: Fixture.checkpoint("malicious.pt")), .refusedGlobal("os.system"))
        assertNotPwned()
    }

    func testStackGlobalIsCheckedAgainstTheAllowListToo() {
        // PROTO 2, 'posix', 'system', STACK_GLOBAL, STOP
        var p: [UInt8] = [0x80, 0x02]
        p += [0x8c, 5] + Array("posix".utf8)
        p += [0x8c, 6] + Array("system".utf8)
        p += [0x93, 0x2e]
        XCTAssertEqual(assertRefused(p), .refusedGlobal("posix.system"))
    }

    func testBuiltinsEvalIsRefused() {
        let p: [UInt8] = [0x80, 0x02, 0x63] + Array("builtins\neval\n".utf8) + [0x2e]
        XCTAssertEqual(assertRefused(p), .refusedGlobal("builtins.eval"))
    }

    func testUnknownTorchNameIsRefused() {
        let p: [UInt8] = [0x80, 0x02, 0x63] + Array("torch\nload\n".utf8) + [0x2e]
        XCTAssertEqual(assertRefused(p), .refusedGlobal("torch.load"))
    }

    func testInstOpcodeIsRefusedByName() {
        // INST names and instantiates a class in one opcode.
        let p: [UInt8] = [0x28, 0x69] + Array("subprocess\nPopen\n".utf8) + [0x2e]
        XCTAssertEqual(assertRefused([0x80, 0x02] + p), .refusedGlobal("subprocess.Popen"))
    }

    func testNonFloat32StorageIsRefusedNamingTheStorageType() {
        let error = assertRefused(path: Fixture.checkpoint("float64.pt"))
        XCTAssertEqual(error, .unsupportedStorage(tensor: "double", storageType: "torch.DoubleStorage"))
        XCTAssertTrue(error?.description.contains("torch.DoubleStorage") ?? false)
    }

    func testDeeplyNestedPickleHitsTheDepthLimit() {
        // PROTO 2, then EMPTY_LIST + (EMPTY_LIST APPEND) nesting via TUPLE1 many times.
        var p: [UInt8] = [0x80, 0x02, 0x29]
        p += [UInt8](repeating: 0x85, count: 10_000)  // TUPLE1 wraps the top in a new tuple
        p += [0x2e]
        guard case .limitExceeded? = assertRefused(p) else { return XCTFail("expected limitExceeded") }
    }

    func testNestingBuiltInsideOutIsRefused() {
        // Lists linked parent-first (append L1 to L0, then L2 to L1, ...) would
        // nest 100 000 deep without any single append looking deep; freeing
        // such a chain would overflow the stack. Changing a nested list is refused.
        func u32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).littleEndian) { Array($0) } }
        let n = 100_000
        var p: [UInt8] = [0x80, 0x02]
        for i in 0..<n { p += [0x5d, 0x72] + u32(i) + [0x30] }  // EMPTY_LIST LONG_BINPUT i POP
        for i in 0..<(n - 1) {
            p += [0x6a] + u32(i) + [0x6a] + u32(i + 1) + [0x61, 0x30]  // GET i, GET i+1, APPEND, POP
        }
        p += [0x6a] + u32(0) + [0x2e]
        guard case .malformedPickle(_, let reason)? = assertRefused(p) else { return XCTFail("expected malformedPickle") }
        XCTAssertTrue(reason.contains("nested"), reason)
    }

    func testUnknownMemoIndexIsAnError() {
        guard case .malformedPickle? = assertRefused([0x80, 0x02, 0x68, 0x07, 0x2e]) else {
            return XCTFail("expected malformedPickle")
        }
    }

    func testStackUnderflowIsAnError() {
        // REDUCE on an empty stack, then APPEND with nothing to append to.
        guard case .malformedPickle? = assertRefused([0x80, 0x02, 0x52, 0x2e]) else { return XCTFail() }
        guard case .malformedPickle? = assertRefused([0x80, 0x02, 0x4e, 0x61, 0x2e]) else { return XCTFail() }
    }

    func testCallingANonGlobalIsRefused() {
        // None as the callable of REDUCE.
        guard case .malformedPickle? = assertRefused([0x80, 0x02, 0x4e, 0x29, 0x52, 0x2e]) else { return XCTFail() }
    }

    func testUnknownOpcodeIsRefused() {
        XCTAssertEqual(assertRefused([0x80, 0x02, 0xff, 0x2e]), .unsupportedOpcode(opcode: 0xff, offset: 2))
    }
}
