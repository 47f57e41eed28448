/// A vocabulary of symbols (characters or words), indexed in the order the
/// reference built it: a token is a symbol's index.
public struct Vocabulary: Sendable, Equatable {
    /// Symbols by index.
    public let symbols: [String]
    private let indices: [String: Int]

    /// A vocabulary of these symbols, in this order; a repeated symbol keeps
    /// its first index.
    public init(symbols: [String]) {
        self.symbols = symbols
        var indices: [String: Int] = [:]
        for (i, s) in symbols.enumerated() where indices[s] == nil { indices[s] = i }
        self.indices = indices
    }

    /// Every distinct symbol of `sequence`, in order of first sight (how
    /// the reference builds its character and word vocabularies).
    public init<S: Sequence>(firstSeenIn sequence: S) where S.Element == String {
        var seen = Set<String>(), symbols: [String] = []
        for s in sequence where seen.insert(s).inserted { symbols.append(s) }
        self.init(symbols: symbols)
    }

    public var count: Int { symbols.count }

    /// The token of `symbol`, if the vocabulary has it.
    public func token(of symbol: String) -> Int? { indices[symbol] }

    /// The symbol of `token`, if it is in range.
    public func symbol(of token: Int) -> String? { symbols.indices.contains(token) ? symbols[token] : nil }
}

/// What one token of a vocabulary is.
public enum TokenLevel: String, Sendable, Equatable {
    /// One character (PTB's character task: a line break is the five characters `<eos>`).
    case characters
    /// One word (PTB's word task: words split at spaces, `<eos>` one token).
    case words
}

/// Tokens of a vocabulary: an embedding row in, a softmax over the
/// vocabulary out. The codec of the paper's Penn Treebank language models.
/// A checkpoint carries no vocabulary (the reference rebuilds it from the
/// text each run): `sequnet convert --vocab` stores one in the safetensors
/// metadata, and without one a model still runs on token ids.
public struct TokenCodec: Codec {
    /// Tokens the model has (its embedding's rows).
    public let tokenCount: Int
    /// The symbols, where the file records them.
    public let vocabulary: Vocabulary?
    /// Characters or words (nil if not recorded).
    public let level: TokenLevel?

    public init(vocabulary: Vocabulary, level: TokenLevel? = nil) {
        (tokenCount, self.vocabulary, self.level) = (vocabulary.count, vocabulary, level)
    }

    /// Token ids only.
    public init(tokenCount: Int) { (self.tokenCount, vocabulary, level) = (tokenCount, nil, nil) }

    public var description: String {
        guard let vocabulary else { return "\(tokenCount) tokens (no vocabulary recorded)" }
        return "\(level.map { "\($0.rawValue) of " } ?? "")a \(vocabulary.count)-symbol vocabulary"
    }
    public var input: NetworkInput { .embedding(vocabulary: tokenCount) }
    public var output: NetworkOutput { .categorical(classes: tokenCount) }
    /// The reference scores windows from zero state: nothing pads a prompt.
    public var paddingInput: Int? { nil }
    /// A frame or token is not a fixed span of time.
    public var stepName: String { "token" }
    public var stepsPerSecond: Int? { nil }

    /// The tokens of `symbols`; nil if one is not in the vocabulary.
    public func encode(_ symbols: [String]) -> [Int]? {
        guard let vocabulary else { return nil }
        var tokens: [Int] = []
        tokens.reserveCapacity(symbols.count)
        for s in symbols {
            guard let t = vocabulary.token(of: s) else { return nil }
            tokens.append(t)
        }
        return tokens
    }

    /// The symbols of `tokens` (out-of-range tokens are skipped).
    public func decode(_ tokens: [Int]) -> [String] { tokens.compactMap { vocabulary?.symbol(of: $0) } }
}
