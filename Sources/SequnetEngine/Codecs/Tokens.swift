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

/// Tokens of a vocabulary: an embedding row in, a softmax over the
/// vocabulary out. The codec of the paper's Penn Treebank language models.
public struct TokenCodec: Codec {
    public let vocabulary: Vocabulary

    public init(vocabulary: Vocabulary) { self.vocabulary = vocabulary }

    public var description: String { "tokens of a \(vocabulary.count)-symbol vocabulary" }
    public var input: NetworkInput { .embedding(vocabulary: vocabulary.count) }
    public var output: NetworkOutput { .categorical(classes: vocabulary.count) }
    /// The reference scores windows from zero state: nothing pads a prompt.
    public var paddingInput: Int? { nil }
    /// A frame or token is not a fixed span of time.
    public var stepName: String { "token" }
    public var stepsPerSecond: Int? { nil }

    /// The tokens of `symbols`; nil if one is not in the vocabulary.
    public func encode(_ symbols: [String]) -> [Int]? {
        var tokens: [Int] = []
        tokens.reserveCapacity(symbols.count)
        for s in symbols {
            guard let t = vocabulary.token(of: s) else { return nil }
            tokens.append(t)
        }
        return tokens
    }

    /// The symbols of `tokens` (out-of-range tokens are skipped).
    public func decode(_ tokens: [Int]) -> [String] { tokens.compactMap { vocabulary.symbol(of: $0) } }
}
