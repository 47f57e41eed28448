import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Issue 18: `sequnet serve` over real HTTP on a free local port, the real
/// binary, the tiny fixture model.
final class ServeCLITests: XCTestCase {
    let tiny = CLI.fixture("checkpoints/tiny_sequnet_c4_l2_d1_k3.safetensors")

    // MARK: Byte identity

    func testAStreamIsTheBytesOfGenerate() throws {
        let server = try ServeProcess(["-m", tiny])
        defer { server.stop() }
        let response = try server.get("/api/stream?seed=5&temperature=0.9&min_p=0.05&samples=3000")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["content-type"], "audio/wav")
        let body = response.body
        XCTAssertEqual(body.count, 44 + 6000)
        XCTAssertEqual(String(decoding: body.prefix(4), as: UTF8.self), "RIFF")
        XCTAssertEqual(readUInt32(body, at: 40), 6000, "data size")
        XCTAssertEqual(readUInt32(body, at: 24), 16_000, "sample rate")
        let alone = try generate(["--seed", "5", "--temperature", "0.9", "--min-p", "0.05", "--samples", "3000"])
        XCTAssertEqual(body.dropFirst(44), alone)

        // --seconds counts as generate counts it; the defaults are generate's.
        let seconds = try server.get("/api/stream?seconds=0.3")
        XCTAssertEqual(seconds.body.dropFirst(44), try generate(["--seconds", "0.3"]))
    }

    func testConcurrentListenersShareABatchAndEachIsItsOwnGenerate() throws {
        let server = try ServeProcess(["-m", tiny, "--join-window", "2000"])
        defer { server.stop() }
        final class Bodies: @unchecked Sendable {
            let lock = NSLock()
            var data = [Data?](repeating: nil, count: 3)
        }
        let results = Bodies()
        let group = DispatchGroup()
        for i in 0..<3 {
            DispatchQueue.global().async(group: group) {
                let response = try? server.get("/api/stream?seed=\(10 + i)&temperature=0.8&samples=\(2000 + 500 * i)")
                results.lock.lock(); results.data[i] = response?.body; results.lock.unlock()
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        for i in 0..<3 {
            let body = try XCTUnwrap(results.data[i], "listener \(i)")
            let alone = try generate(["--seed", "\(10 + i)", "--temperature", "0.8", "--samples", "\(2000 + 500 * i)"])
            XCTAssertEqual(body.dropFirst(44), alone, "listener \(i)")
        }
        let info = try server.info()
        XCTAssertEqual(info["batches_started"] as? Int, 1, "three listeners within the join window share one batch")
        XCTAssertEqual(info["listeners_served"] as? Int, 3)
    }

    /// A newcomer takes a spare slot, or one a listener left, of a running
    /// batch at a clock-cycle boundary once the slot has had input-size
    /// samples of silence: still `generate`'s bytes.
    func testANewcomerInARunningBatchIsItsOwnGenerate() throws {
        let server = try ServeProcess(["-m", tiny, "--slots", "2", "--join-window", "0"])
        defer { server.stop() }
        let playing = try server.open("/api/stream?seed=1")
        try playing.read(atLeast: 6_000)
        let leaving = try server.open("/api/stream?seed=2")   // the spare slot
        try leaving.read(atLeast: 6_000)
        leaving.close()
        try waitUntil("the leaver is gone") { try server.info()["listeners"] as? Int == 1 }
        for seed in [3, 4] {   // the slot it left, twice
            let response = try server.get("/api/stream?seed=\(seed)&temperature=0.9&samples=2500")
            XCTAssertEqual(response.body.dropFirst(44), try generate(["--seed", "\(seed)", "--temperature", "0.9", "--samples", "2500"]),
                           "seed \(seed)")
        }
        let info = try server.info()
        XCTAssertEqual(info["batches_started"] as? Int, 1, "every listener joined the first batch")
        XCTAssertEqual(info["listeners_served"] as? Int, 4)
        playing.close()
    }

    func testAPromptUploadIsGenerateWithThatPrompt() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let prompt = dir.appendingPathComponent("prompt.wav").path
        let made = try CLI.run(["generate", "-m", tiny, "--samples", "1500", "--seed", "9", "-o", prompt])
        XCTAssertEqual(made.status, 0, made.stderr)
        let server = try ServeProcess(["-m", tiny])
        defer { server.stop() }
        let response = try server.request("POST", "/api/stream?seed=3&samples=2000",
                                          body: try Data(contentsOf: URL(fileURLWithPath: prompt)))
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        XCTAssertEqual(response.body.dropFirst(44), try generate(["--seed", "3", "--samples", "2000", "--prompt", prompt]))
        let bad = try server.request("POST", "/api/stream?samples=10", body: Data("not audio".utf8))
        XCTAssertEqual(bad.status, 400)
        XCTAssertNotNil(bad.json?["error"] as? String)
    }

    // MARK: Errors

    func testBadParametersAre400AndUnknownPaths404AsJSON() throws {
        let server = try ServeProcess(["-m", tiny])
        defer { server.stop() }
        let cases = [
            ("seed=abc", "seed must be an integer"),
            ("temperature=-1", "temperature must be a finite number >= 0"),
            ("temperature=nan", "temperature must be a finite number >= 0"),
            ("min_p=2", "min_p must be a number from 0 to 1"),
            ("seconds=0", "seconds must be a positive number"),
            ("samples=-3", "samples must be a positive integer"),
            ("seconds=1&samples=5", "give seconds or samples, not both"),
            ("min-p=0.1", "unknown parameter 'min-p'"),
            ("seed=1&seed=2", "parameter 'seed' given twice"),
        ]
        for (query, message) in cases {
            let response = try server.get("/api/stream?" + query)
            XCTAssertEqual(response.status, 400, query)
            XCTAssertEqual(response.headers["content-type"], "application/json", query)
            let error = try XCTUnwrap(response.json?["error"] as? String, query)
            XCTAssertTrue(error.contains(message), "\(query): \(error)")
        }
        let missing = try server.get("/nowhere")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.json?["error"] as? String, "no such path: /nowhere")
        XCTAssertEqual((try server.info()["listeners"]) as? Int, 0, "no rejected request holds a stream")
        // One line per request on stderr.
        let lines = server.stderrLines.filter { $0.hasPrefix("GET ") }
        XCTAssertEqual(lines.count, cases.count + 2, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("GET /nowhere 404 ") }, lines.joined(separator: "\n"))
    }

    func testOverMaxStreamsIs503AndADisconnectFreesTheStream() throws {
        let server = try ServeProcess(["-m", tiny, "--max-streams", "2"])
        defer { server.stop() }
        let first = try server.open("/api/stream?seed=1"), second = try server.open("/api/stream?seed=2")
        _ = try first.read(atLeast: 20_000)
        _ = try second.read(atLeast: 20_000)
        XCTAssertEqual(try server.info()["listeners"] as? Int, 2)
        let refused = try server.get("/api/stream?seed=3&samples=100")
        XCTAssertEqual(refused.status, 503)
        XCTAssertNotNil(refused.headers["retry-after"])
        XCTAssertTrue((refused.json?["error"] as? String ?? "").contains("--max-streams"), "\(refused.json ?? [:])")

        first.close()
        try waitUntil("the closed stream is gone from /api/info") { try server.info()["listeners"] as? Int == 1 }
        let streams = try XCTUnwrap(try server.info()["streams"] as? [[String: Any]])
        XCTAssertEqual(streams.map { $0["seed"] as? Int }, [2])
        XCTAssertEqual(try server.get("/api/stream?seed=3&samples=100").status, 200, "the freed slot takes a new listener")
        second.close()
        try waitUntil("both gone") { try server.info()["listeners"] as? Int == 0 }
        XCTAssertTrue(server.stderrLines.contains { $0.hasPrefix("GET /api/stream?seed=1 200 ") && $0.contains("client gone") },
                      server.stderr)
    }

    func testSIGTERMEndsOpenStreamsAndExitsZeroWithinTwoSeconds() throws {
        for signal in [SIGTERM, SIGINT] {
            let server = try ServeProcess(["-m", tiny])
            let stream = try server.open("/api/stream?seed=4")
            _ = try stream.read(atLeast: 10_000)
            let start = Date()
            kill(server.process.processIdentifier, signal)
            CLI.finish(server.process, within: 5)
            let seconds = Date().timeIntervalSince(start)
            XCTAssertEqual(server.process.terminationReason, .exit)
            XCTAssertEqual(server.process.terminationStatus, 0, server.stderr)
            XCTAssertLessThan(seconds, 2, "signal \(signal)")
            // The response was finished (the last chunk) or the connection closed: either way it ends.
            XCTAssertNoThrow(try stream.readToEnd(timeout: 2))
            stream.close()
        }
    }

    func testInfoAndThePage() throws {
        let server = try ServeProcess(["-m", tiny, "--max-streams", "5", "--buffer", "1.5"])
        defer { server.stop() }
        let info = try server.info()
        let model = try XCTUnwrap(info["model"] as? [String: Any])
        XCTAssertEqual(model["architecture"] as? String, "sequnet")
        XCTAssertEqual(model["sample_rate"] as? Int, 16_000)
        let limits = try XCTUnwrap(info["limits"] as? [String: Any])
        XCTAssertEqual(limits["max_streams"] as? Int, 5)
        XCTAssertEqual(limits["buffer_seconds"] as? Double, 1.5)
        XCTAssertEqual(info["underruns"] as? Int, 0)
        let page = try server.get("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        let html = String(decoding: page.body, as: UTF8.self)
        XCTAssertTrue(html.contains("window.sequnetStats"))
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "nothing is fetched from elsewhere")
    }

    // MARK: Helpers

    func generate(_ arguments: [String]) throws -> Data {
        let result = try CLI.run(["generate", "-m", tiny, "-o", "-"] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout
    }

    func waitUntil(_ what: String, timeout: Double = 5, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTFail("timed out waiting until \(what)")
    }

    func readUInt32(_ data: Data, at offset: Int) -> UInt32 {
        data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: data.startIndex + offset - data.startIndex, as: UInt32.self)) }
    }
}

/// `sequnet serve --port 0 ...` running in the background.
final class ServeProcess {
    let process = Process()
    let stderrURL: URL
    private(set) var port: UInt16 = 0

    init(_ arguments: [String], timeout: Double = 60) throws {
        let dir = try CLI.temporaryDirectory()
        stderrURL = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = CLI.executable
        process.arguments = ["serve", "--port", "0"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && process.isRunning {
            if let line = stderrLines.first(where: { $0.hasPrefix("listening on http://") }),
               let colon = line.lastIndex(of: ":"), let port = UInt16(line[line.index(after: colon)...].dropLast()) {
                self.port = port
                return
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        stop()
        throw NSError(domain: "ServeProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "serve did not start: \(stderr)"])
    }

    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        CLI.finish(process, within: 10)
    }

    func open(_ target: String, method: String = "GET", body: Data = Data()) throws -> HTTPConnection {
        try HTTPConnection(port: port, method: method, target: target, body: body)
    }

    func request(_ method: String, _ target: String, body: Data = Data()) throws -> HTTPResponseData {
        let connection = try open(target, method: method, body: body)
        defer { connection.close() }
        return try HTTPResponseData(raw: connection.readToEnd(timeout: 60))
    }

    func get(_ target: String) throws -> HTTPResponseData { try request("GET", target) }

    func info() throws -> [String: Any] {
        let response = try get("/api/info")
        return try XCTUnwrap(response.json, String(decoding: response.body, as: UTF8.self))
    }
}

/// One HTTP/1.1 request on a plain socket (`Connection: close`), read raw.
final class HTTPConnection {
    let fd: Int32
    private(set) var received = Data()

    init(port: UInt16, method: String, target: String, body: Data) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { Glibc.close(fd); throw POSIXError(.ECONNREFUSED) }
        var request = Data("\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".utf8)
        if method == "POST" { request += Data("Content-Length: \(body.count)\r\nContent-Type: application/octet-stream\r\n".utf8) }
        request += Data("\r\n".utf8) + body
        try request.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw POSIXError(.EPIPE) }
                sent += n
            }
        }
    }

    /// Reads until `atLeast` bytes have arrived in all (or the end).
    @discardableResult
    func read(atLeast count: Int, timeout: Double = 30) throws -> Data {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while received.count < count {
            guard Date() < deadline else { throw POSIXError(.ETIMEDOUT) }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received.append(buffer, count: n)
        }
        return received
    }

    /// Reads until the server closes the connection.
    func readToEnd(timeout: Double) throws -> Data {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            guard Date() < deadline else { throw POSIXError(.ETIMEDOUT) }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return received }
            received.append(buffer, count: n)
        }
    }

    func close() { Glibc.close(fd) }
}

/// A whole HTTP/1.1 response: status, headers (lower-cased names), body (de-chunked).
struct HTTPResponseData {
    var status = 0
    var headers: [String: String] = [:]
    var body = Data()

    init(raw: Data) throws {
        guard let end = raw.range(of: Data("\r\n\r\n".utf8)) else { throw POSIXError(.EBADMSG) }
        let head = String(decoding: raw[raw.startIndex..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        status = Int(head[0].split(separator: " ")[1]) ?? 0
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let rest = Data(raw[end.upperBound...])
        guard headers["transfer-encoding"] == "chunked" else { body = rest; return }
        var offset = 0
        while let lineEnd = rest[(rest.startIndex + offset)...].range(of: Data("\r\n".utf8)) {
            let sizeText = String(decoding: rest[(rest.startIndex + offset)..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText, radix: 16) else { throw POSIXError(.EBADMSG) }
            if size == 0 { return }
            let start = lineEnd.upperBound
            guard start + size <= rest.endIndex else { throw POSIXError(.EBADMSG) }
            body += rest[start..<(start + size)]
            offset = start + size + 2 - rest.startIndex
        }
        throw POSIXError(.EBADMSG)   // no last chunk: the response was cut
    }

    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
}
