import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SequnetAudio
import SequnetEngine
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// What `sequnet serve` was asked for.
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0: any free port (the bound address is reported through `onBound`).
    public var port = 8080
    public var limits = ServeLimits()
    /// The model as `sequnet info --json` describes it (a JSON object).
    public var modelInfo = Data("{}".utf8)
    /// Largest prompt upload accepted by `POST /api/stream`, in bytes.
    public var maxPromptBytes = 64 << 20

    public init() {}
}

/// `sequnet serve`: the HTTP API and the page over one model.
///
/// - `GET /`: the page (plain HTML, CSS and JS, served from the binary).
/// - `GET /api/info`: the model (as `info --json`), the server's limits, and
///   every current stream.
/// - `GET /api/stream?seed=&temperature=&min_p=&seconds=|samples=`: `audio/wav`,
///   16-bit mono 16 kHz, sent as it is generated; the samples after the
///   44-byte header are `generate -o -`'s bytes for the same values.
/// - `POST /api/stream?...` with an audio file as the body: the same, primed
///   by the file's last input-size samples, which are sent first (as
///   `generate --prompt` writes them).
public final class SequnetServer: Sendable {
    let hub: Hub
    let options: ServerOptions
    /// Stream responses carry their listener's id in this header.
    static let streamHeader = HTTPField.Name("X-Sequnet-Stream")!

    public init(model: Model, options: ServerOptions) {
        self.options = options
        hub = Hub(model: model, limits: options.limits)
    }

    /// Serves until SIGINT or SIGTERM: then every open stream is ended (its
    /// response finished), the listening socket closed, and it returns.
    /// `onBound` gets the bound address ("127.0.0.1:8080") once listening.
    public func run(onBound: @escaping @Sendable (String) -> Void) async throws {
        var logger = Logger(label: "sequnet-serve")
        logger.logLevel = .error   // our own line per request goes to stderr instead
        let router = Router()
        router.add(middleware: RequestLine())
        let hub = self.hub
        let info = options.modelInfo
        let limits = options.limits
        let maxPromptBytes = options.maxPromptBytes
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: Page.html)))
        }
        router.get("/api/info") { _, _ in
            try Self.json(Self.info(hub: hub, model: info, limits: limits))
        }
        router.get("/api/stream") { request, _ in
            let parameters = try StreamParameters(query: Self.queryPairs(request.uri.query))
            return try Self.stream(hub: hub, parameters: parameters, request: request)
        }
        router.post("/api/stream") { request, _ in
            var parameters = try StreamParameters(query: Self.queryPairs(request.uri.query))
            let body = try await request.body.collect(upTo: maxPromptBytes)
            parameters.prompt = try Self.promptClasses(body, keepingLast: hub.model.config.inputSize)
            return try Self.stream(hub: hub, parameters: parameters, request: request)
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "sequnet"),
            onServerRunning: { channel in
                let address = channel.localAddress
                let host = address?.ipAddress ?? "?"
                onBound((host.contains(":") ? "[\(host)]" : host) + ":\(address?.port ?? 0)")
            },
            logger: logger)
        hub.start()
        // The hub is listed after the server, so a graceful shutdown ends it
        // first: every stream finishes, and the server then has no request
        // left to wait for.
        let group = ServiceGroup(configuration: .init(
            services: [app, HubService(hub: hub)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    // MARK: Streams

    static func stream(hub: Hub, parameters: StreamParameters, request: Request) throws -> Response {
        let listener = try hub.join(parameters)
        let target = request.uri.description
        let header = WAVHeader.bytes(samples: parameters.samples.map { $0 + parameters.prompt.count },
                                     sampleRate: MuLawAudio.sampleRate)
        var headers: HTTPFields = [.contentType: "audio/wav", .cacheControl: "no-store"]
        headers[streamHeader] = String(listener.id)
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var reason: String?
            do {
                try await writer.write(ByteBuffer(bytes: header))
                while let chunk = await hub.nextChunk(for: listener) {
                    var buffer = ByteBufferAllocator().buffer(capacity: 2 * chunk.count)
                    for sample in chunk { buffer.writeInteger(sample, endianness: .little) }
                    try await writer.write(buffer)
                    hub.didWrite(listener)
                }
                try await writer.finish(nil)
            } catch {
                reason = "client gone"
            }
            hub.leave(listener, reason: reason)
            RequestLog.write(method: "\(request.method)", target: target, status: 200,
                            seconds: monotonicSeconds() - listener.arrived, extra: hub.summary(of: listener))
        })
    }

    /// The prompt's last `keepingLast` samples as mu-law classes, from an
    /// uploaded audio file (any format libsndfile reads, at any rate).
    static func promptClasses(_ body: ByteBuffer, keepingLast: Int) throws -> [Int] {
        guard body.readableBytes > 0 else { throw APIError.badRequest("the prompt (the request body) is empty") }
        let path = NSTemporaryDirectory() + "sequnet-prompt-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: path, contents: Data(body.readableBytesView)) else {
            throw APIError.badRequest("cannot store the prompt")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let audio: MonoAudio
        do {
            audio = try readMonoAudio(atPath: path, resampledTo: MuLawAudio.sampleRate, keepingLast: keepingLast)
        } catch let error as AudioError {
            throw APIError.badRequest("prompt: " + error.description.replacingOccurrences(of: "'\(path)'", with: "body"))
        }
        guard !audio.samples.isEmpty else { throw APIError.badRequest("the prompt holds no audio (0 samples)") }
        return audio.samples.map { Int(MuLawAudio.encode($0)) }
    }

    // MARK: JSON

    static func info(hub: Hub, model: Data, limits: ServeLimits) throws -> [String: Any] {
        var report = hub.report()
        report["model"] = try JSONSerialization.jsonObject(with: model)
        report["limits"] = [
            "max_streams": limits.maxStreams, "buffer_seconds": limits.bufferSeconds,
            "join_window_ms": limits.joinWindowSeconds * 1000, "chunk_samples": limits.chunk,
            "threads": limits.threads, "workers": limits.workers, "slots": limits.slots, "stall_seconds": limits.stallSeconds,
            "sample_rate": MuLawAudio.sampleRate,
        ] as [String: Any]
        return report
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `name=value` pairs of a query string, percent-decoded ("+" is a space).
    static func queryPairs(_ query: String?) throws(APIError) -> [(name: String, value: String)] {
        guard let query, !query.isEmpty else { return [] }
        var pairs: [(name: String, value: String)] = []
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) throws(APIError) -> String {
                guard let text = s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                    throw .badRequest("bad percent-encoding in the query: '\(s)'")
                }
                return text
            }
            pairs.append((try decode(pieces[0]), pieces.count > 1 ? try decode(pieces[1]) : ""))
        }
        return pairs
    }
}

/// Ends the hub's streams on graceful shutdown (before the server stops).
struct HubService: Service {
    let hub: Hub
    func run() async throws {
        try? await gracefulShutdown()
        hub.stop()
    }
}

/// Turns errors into `{"error": "..."}` with their status, and logs one line
/// per request to stderr (a stream's line is written when it ends).
struct RequestLine<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = monotonicSeconds()
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            switch error {
            case .badRequest(let m): response = try SequnetServer.json(["error": m], status: .badRequest)
            case .notFound(let m): response = try SequnetServer.json(["error": m], status: .notFound)
            case .busy(let m): response = try SequnetServer.json(["error": m], status: .serviceUnavailable, headers: [.retryAfter: "2"])
            }
        } catch let error as HTTPError {
            let message = error.status == .notFound ? "no such path: \(request.uri.path)"
                : error.body ?? error.status.reasonPhrase
            response = try SequnetServer.json(["error": message], status: error.status, headers: error.headers)
        } catch {
            response = try SequnetServer.json(["error": "\(error)"], status: .internalServerError)
        }
        if response.headers[SequnetServer.streamHeader] == nil {
            RequestLog.write(method: "\(request.method)", target: request.uri.description, status: response.status.code,
                     seconds: monotonicSeconds() - start, extra: nil)
        }
        return response
    }
}

enum RequestLog {
    /// `GET /api/info 200 0.4 ms`, to stderr.
    static func write(method: String, target: String, status: Int, seconds: Double, extra: String?) {
        let time = seconds < 1 ? String(format: "%.1f ms", seconds * 1000) : String(format: "%.2f s", seconds)
        let line = "\(method) \(target) \(status) \(time)" + (extra.map { ", " + $0 } ?? "") + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

extension Hub {
    /// "stream 3, 48,000 samples, 0 underruns (ended: client gone)" for the log line.
    func summary(of listener: Listener) -> String {
        report(listener) { l in
            "stream \(l.id), \(l.written) samples sent, \(l.underruns) underruns"
                + (l.lateSeconds > 0 ? String(format: " (%.0f ms late)", l.lateSeconds * 1000) : "")
                + (l.endReason.map { " (\($0))" } ?? "")
        }
    }
}
