import Foundation
import XCTest

/// Runs the real `sequnet` executable built next to this test bundle.
enum CLI {
    /// Package root, found from this file's location (Tests/SequnetCLITests/...).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures")

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// The executable: `$SEQUNET_BINARY`, else the products directory of the
    /// running test bundle (the same scratch path and configuration as the
    /// tests), else `.build/debug/sequnet`.
    static let executable: URL = {
        let fm = FileManager.default
        if let override = ProcessInfo.processInfo.environment["SEQUNET_BINARY"] {
            return URL(fileURLWithPath: override)
        }
        var directories = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        directories += Bundle.allBundles.filter { $0.bundlePath.hasSuffix(".xctest") }
            .map { $0.bundleURL.deletingLastPathComponent() }
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        for dir in directories {
            let candidate = dir.appendingPathComponent("sequnet")
            if fm.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return packageRoot.appendingPathComponent(".build/debug/sequnet")
    }()

    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: String
        var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `sequnet arguments`, capturing stdout and stderr through files
    /// (no pipe can fill up and stall the child).
    /// `standardOutput` replaces the capture file (e.g. /dev/full); stdout is
    /// then empty in the result. A run still going after `timeout` seconds is
    /// killed and fails the test (a regression must not hang the suite).
    static func run(_ arguments: [String], environment: [String: String] = [:], executable: URL? = nil,
                    standardOutput: FileHandle? = nil, standardError: FileHandle? = nil, timeout: TimeInterval = 300,
                    file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let dir = try temporaryDirectory()
        let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = executable ?? Self.executable
        process.currentDirectoryURL = URL(fileURLWithPath: NSTemporaryDirectory())
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["SEQUNET_MODEL"] = nil
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = try standardOutput ?? FileHandle(forWritingTo: outURL)
        process.standardError = try standardError ?? FileHandle(forWritingTo: errURL)
        try process.run()
        finish(process, within: timeout, file: file, line: line)
        XCTAssertEqual(process.terminationReason, .exit, "sequnet died from a signal", file: file, line: line)
        return Result(status: process.terminationStatus,
                      stdout: try Data(contentsOf: outURL),
                      stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// Waits for `process`; past `seconds`, kills it and fails the test.
    static func finish(_ process: Process, within seconds: TimeInterval,
                       file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            XCTFail("still running after \(seconds) s: killed", file: file, line: line)
        }
        process.waitUntilExit()
    }

    /// A fresh directory under the system temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("sequnet-cli-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Little-endian float32 values of `data`.
func floats(_ data: Data) -> [Float] {
    data.withUnsafeBytes { raw in
        (0..<raw.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
    }
}
