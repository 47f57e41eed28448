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

// MARK: Penn Treebank, as the paper's char_cnn and word_cnn read it

/// The Penn Treebank text as the reference's language models see it: the
/// vocabularies they rebuild from the three files on every run, and the
/// token streams of a file.
public enum PennTreebank {
    /// The character task's line break: five characters.
    public static let characterLineBreak = "<eos>"
    /// The word task's line break: one token.
    public static let wordLineBreak = "<eos>"

    /// The characters of `text` with every line break replaced by `<eos>`.
    public static func characters(of text: String) -> [String] {
        var symbols: [String] = []
        symbols.reserveCapacity(text.utf8.count)
        for character in text {
            if character == "\n" || character == "\r\n" {
                symbols += characterLineBreak.map(String.init)
            } else {
                symbols.append(String(character))
            }
        }
        return symbols
    }

    /// The words of `text`: each line split at white space, then `<eos>`.
    public static func words(of text: String) -> [String] {
        var symbols: [String] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if text.hasSuffix("\n") { lines.removeLast() }   // the last line's break ends the file
        for line in lines {
            symbols += line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            symbols.append(wordLineBreak)
        }
        return symbols
    }

    /// The symbols of `text` at `level`.
    public static func symbols(of text: String, level: TokenLevel) -> [String] {
        level == .characters ? characters(of: text) : words(of: text)
    }

    /// The vocabulary the reference builds from the train, valid and test
    /// texts, in that order: characters of the three joined by single
    /// spaces, or words of the three, each symbol numbered at first sight.
    public static func vocabulary(train: String, valid: String, test: String, level: TokenLevel) -> Vocabulary {
        switch level {
        case .characters: return Vocabulary(firstSeenIn: characters(of: train + " " + valid + " " + test))
        case .words: return Vocabulary(firstSeenIn: words(of: train) + words(of: valid) + words(of: test))
        }
    }
}

extension TokenCodec {
    /// The tokens of a text at the codec's level. Fails with the first
    /// symbol the vocabulary lacks (a word missing from a word vocabulary
    /// becomes `<unk>` if it has one, as PTB's preprocessing does).
    public func tokens(of text: String) throws -> [Int] {
        guard let vocabulary, let level else { throw TokenTextError.noVocabulary }
        let unknown = vocabulary.token(of: "<unk>")
        var tokens: [Int] = []
        for symbol in PennTreebank.symbols(of: text, level: level) {
            if let token = vocabulary.token(of: symbol) {
                tokens.append(token)
            } else if level == .words, let unknown {
                tokens.append(unknown)
            } else {
                throw TokenTextError.unknownSymbol(symbol)
            }
        }
        return tokens
    }

    /// How `token` reads in text: a character, or a word followed by a
    /// space (`<eos>` as a line break).
    public func text(of token: Int) -> String {
        guard let symbol = vocabulary?.symbol(of: token) else { return "" }
        guard level == .words else { return symbol }
        return symbol == PennTreebank.wordLineBreak ? "\n" : symbol + " "
    }
}

/// Why a text could not be turned into tokens.
public enum TokenTextError: Error, CustomStringConvertible, Equatable {
    case noVocabulary
    case unknownSymbol(String)

    public var description: String {
        switch self {
        case .noVocabulary:
            return "the model file records no vocabulary: convert it with `sequnet convert --vocab FILE` or `--vocab-from-text TRAIN VALID TEST`"
        case .unknownSymbol(let symbol):
            let shown = symbol.unicodeScalars.map { $0.value < 0x20 ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
            return "'\(shown)' is not in the model's vocabulary"
        }
    }
}
