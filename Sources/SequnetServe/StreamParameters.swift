import SequnetEngine

/// What one listener asked for: the sampler's settings and the length. The
/// same values given to `sequnet generate` (`--seed`, `--temperature`,
/// `--min-p`, `--seconds`/`--samples`) give the same samples.
public struct StreamParameters: Sendable, Equatable {
    public var seed: UInt64 = 0
    public var temperature: Float = 1
    public var minP: Float = 0
    /// Generated samples to send after any prompt; nil: until the listener leaves.
    public var samples: Int?
    /// A prompt's last input-size samples as mu-law classes: they prime the
    /// stream and are sent first, as `generate --prompt` writes them.
    public var prompt: [Int] = []

    public init(seed: UInt64 = 0, temperature: Float = 1, minP: Float = 0, samples: Int? = nil, prompt: [Int] = []) {
        (self.seed, self.temperature, self.minP, self.samples, self.prompt) = (seed, temperature, minP, samples, prompt)
    }

    /// The query parameters `/api/stream` takes.
    public static let names = ["seed", "temperature", "min_p", "seconds", "samples"]

    /// Reads `seed`, `temperature`, `min_p` and `seconds` or `samples` from a
    /// query, with `generate`'s rules; anything else is an error naming the
    /// parameter (a typo such as `min-p` must not pass silently).
    public init(query: [(name: String, value: String)]) throws(APIError) {
        var seen = Set<String>()
        var seconds: Double?
        for (name, value) in query {
            guard Self.names.contains(name) else {
                throw .badRequest("unknown parameter '\(name)' (known: \(Self.names.joined(separator: ", ")))")
            }
            guard seen.insert(name).inserted else { throw .badRequest("parameter '\(name)' given twice") }
            switch name {
            case "seed":
                guard let v = UInt64(value) else { throw .badRequest("seed must be an integer from 0 to 2^64-1, got '\(value)'") }
                seed = v
            case "temperature":
                guard let v = Float(value), v.isFinite, v >= 0 else {
                    throw .badRequest("temperature must be a finite number >= 0, got '\(value)'")
                }
                temperature = v
            case "min_p":
                guard let v = Float(value), v.isFinite, v >= 0, v <= 1 else {
                    throw .badRequest("min_p must be a number from 0 to 1, got '\(value)'")
                }
                minP = v
            case "seconds":
                let rate = Double(MuLawAudio.sampleRate)
                guard let v = Double(value), v.isFinite, v > 0 else {
                    throw .badRequest("seconds must be a positive number, got '\(value)'")
                }
                guard v * rate >= 1 else { throw .badRequest("seconds \(value) is shorter than one sample at \(MuLawAudio.sampleRate) Hz") }
                guard v <= Self.longestSeconds else { throw .badRequest("seconds must be at most \(Int(Self.longestSeconds)) (omit it for an endless stream)") }
                seconds = v
            default:   // samples
                guard let v = Int(value), v > 0 else { throw .badRequest("samples must be a positive integer, got '\(value)'") }
                guard Double(v) <= Self.longestSeconds * Double(MuLawAudio.sampleRate) else {
                    throw .badRequest("samples must be at most \(Int(Self.longestSeconds) * MuLawAudio.sampleRate) (omit it for an endless stream)")
                }
                samples = v
            }
        }
        if seconds != nil && samples != nil { throw .badRequest("give seconds or samples, not both") }
        // As `generate --seconds` counts them.
        if let seconds { samples = Int((seconds * Double(MuLawAudio.sampleRate)).rounded()) }
    }

    /// A finite stream is at most a day long (its WAV header must hold its size).
    public static let longestSeconds: Double = 86_400

    /// A fresh sampler in the state `generate` starts its first stream in.
    func makeSampler() -> CategoricalSampler { CategoricalSampler(temperature: temperature, minP: minP, seed: seed) }
}

/// An HTTP error the API answers as `{"error": "..."}`.
public enum APIError: Error, Equatable, CustomStringConvertible {
    /// 400: bad parameters or body.
    case badRequest(String)
    /// 503 with Retry-After: as many listeners as `--max-streams` already.
    case busy(String)
    /// 404.
    case notFound(String)

    public var description: String {
        switch self {
        case .badRequest(let m), .busy(let m), .notFound(let m): return m
        }
    }
}
