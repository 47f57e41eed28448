import Foundation

/// Turns one kind of data into a network's inputs and its outputs back into
/// data. A codec owns its data's facts (mu-law's classes and sample rate, the
/// piano's keys, a vocabulary); the networks below it know none of them.
public protocol Codec: Sendable {
    /// What the data is, for people ("16 kHz mono, 256-class mu-law").
    var description: String { get }
    /// The network input the codec's data becomes.
    var input: NetworkInput { get }
    /// The network output the codec reads its data from.
    var output: NetworkOutput { get }
    /// What one step is called, singular ("sample", "frame", "token").
    var stepName: String { get }
    /// Steps per second of real time (the sample rate, for audio); nil where
    /// a step is not a fixed span of time.
    var stepsPerSecond: Int? { get }
    /// The input that pads a prompt shorter than the network's input size
    /// (silence, for audio); nil if a prompt is fed as it is, from zero state.
    var paddingInput: Int? { get }
}

/// The codecs models can be run with.
public enum Codecs {
    /// Safetensors metadata: a language model's vocabulary, a JSON array of
    /// its symbols in token order, and whether they are characters or words.
    public static let vocabularyKey = "sequnet.vocabulary"
    public static let tokenLevelKey = "sequnet.token_level"

    /// The codec whose inputs and outputs are `config`'s; a token model's
    /// vocabulary comes from the file's `metadata`, if it has one.
    public static func codec(for config: any ModelConfiguration, metadata: [String: String] = [:]) throws -> any Codec {
        if case .embedding(let tokens) = config.input {
            guard let json = metadata[vocabularyKey] else { return TokenCodec(tokenCount: tokens) }
            guard let symbols = try? JSONDecoder().decode([String].self, from: Data(json.utf8)) else {
                throw ModelLoadError.invalidMetadata("'\(vocabularyKey)' is not a JSON array of strings")
            }
            guard symbols.count == tokens else {
                throw ModelLoadError.invalidMetadata("'\(vocabularyKey)' lists \(symbols.count) symbols, but the model has \(tokens) tokens")
            }
            let level = try metadata[tokenLevelKey].map { name -> TokenLevel in
                guard let level = TokenLevel(rawValue: name) else {
                    throw ModelLoadError.invalidMetadata("'\(tokenLevelKey)' is '\(name)', not characters or words")
                }
                return level
            }
            return TokenCodec(vocabulary: Vocabulary(symbols: symbols), level: level)
        }
        let candidates: [any Codec] = [MuLawAudio(), PianoRoll()]
        if let codec = candidates.first(where: { $0.input == config.input && $0.output == config.output }) {
            return codec
        }
        throw ModelLoadError.noCodec(
            "it takes \(config.input) and gives \(config.output); mu-law audio needs \(MuLawAudio.classes) classes, a piano roll \(PianoRoll.keys) keys")
    }
}
