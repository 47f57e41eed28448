import ArgumentParser
import Foundation
import SequnetAudio
import SequnetEngine

/// `sequnet logits`: teacher-forced logits, the golden fixtures' layout.
struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write teacher-forced logits as float32 little-endian rows (the golden fixtures' layout).",
        discussion: """
            Audio models: row 0 is the logits right after priming with --prompt-classes; row i \
            the logits after feeding byte i-1 of --feed-classes: len(feed)+1 rows of 256 in all, \
            the layout of Tests/Fixtures/NAME.logits.f32. Class files hold one mu-law class per byte.

            Piano-roll models: --feed-frames holds T frames of 88 bytes (0 or 1, key k = MIDI \
            note 21+k); row t is the 88 logits after feeding frame t (predicting frame t+1): T \
            rows. The clock is aligned as the official evaluation aligns a whole sequence of T \
            frames: a plain Seq-U-Net is first fed its zero-frame pre-roll, a TCN nothing.

            Language models: --feed-tokens holds T token ids (uint16 little-endian); row t is the \
            V logits after feeding token t: T rows. A Seq-U-Net's clock is set so that the last \
            token is a tick of every level, as the official evaluation sets it for a window.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions

    @Option(name: .customLong("prompt-classes"), help: ArgumentHelp("Classes that prime an audio model (u8).", valueName: "P.u8"),
            completion: .file())
    var promptClasses: String?

    @Option(name: .customLong("feed-classes"), help: ArgumentHelp("Classes fed one at a time to an audio model (u8).", valueName: "S.u8"),
            completion: .file())
    var feedClasses: String?

    @Option(name: .customLong("feed-frames"),
            help: ArgumentHelp("Piano-roll frames fed one at a time (T x 88 bytes of 0/1).", valueName: "F.u8"),
            completion: .file())
    var feedFrames: String?

    @Option(name: .customLong("feed-tokens"),
            help: ArgumentHelp("Token ids fed one at a time to a language model (uint16 LE).", valueName: "T.u16"),
            completion: .file())
    var feedTokens: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Output file, or - for stdout.", valueName: "OUT.f32"))
    var output: String

    func validate() throws {
        if feedFrames != nil && feedTokens != nil { throw ValidationError("give --feed-frames or --feed-tokens, not both") }
        if let feed = feedFrames ?? feedTokens {
            guard promptClasses == nil, feedClasses == nil else {
                throw ValidationError("--feed-frames and --feed-tokens leave out --prompt-classes and --feed-classes")
            }
            try requireFile(feed, what: feedFrames != nil ? "frames file" : "tokens file")
        } else {
            guard let promptClasses, let feedClasses else {
                throw ValidationError("give --prompt-classes and --feed-classes (audio models), --feed-frames (piano-roll models) or --feed-tokens (language models)")
            }
            try requireFile(promptClasses, what: "prompt classes file")
            try requireFile(feedClasses, what: "feed classes file")
        }
        if output.isEmpty { throw ValidationError("-o needs a file name or -") }
    }

    func run() throws {
        let loaded = try modelOptions.load()
        let model = loaded.model
        if let feedFrames { return try writeFrameLogits(model: model, feedFrames: feedFrames) }
        if let feedTokens { return try writeTokenLogits(model: model, feedTokens: feedTokens) }
        if model.config.input.isVector {
            throw CLIError.invalidInput("\(loaded.path) is a piano-roll model: feed it frames with --feed-frames")
        }
        if model.codec is TokenCodec {
            throw CLIError.invalidInput("\(loaded.path) is a language model: feed it tokens with --feed-tokens")
        }
        let classes = model.config.output.count
        let prompt = try readClasses(promptClasses!, classes: classes)
        let feed = try readClasses(feedClasses!, classes: classes)

        let out = try RawOutput.open(path: output)
        // A file cut short (a full disk) would read as fewer rows: remove it.
        var finished = false
        defer { if !finished { out.discardFile() } }
        let stream = model.makeStream(threads: threadOptions.threads)
        stream.prime(with: prompt)
        // Rows are batched into one write per 64 to keep system calls few.
        var rows = LogitRows(out, width: classes)
        func emit(flush: Bool) throws { try rows.append(stream.logits, flush: flush) }
        try emit(flush: feed.isEmpty)
        for (i, cls) in feed.enumerated() {
            stream.step(Int(cls))
            try emit(flush: i == feed.count - 1)
        }
        try out.close()
        finished = true
        Console.error("wrote \(feed.count + 1) rows x \(classes) logits to \(out.name)")
    }

    /// One row of logits per fed token, the clock set as for an evaluation window.
    private func writeTokenLogits(model: Model, feedTokens: String) throws {
        guard case .embedding(let vocabulary) = model.config.input else {
            throw CLIError.invalidInput("--feed-tokens is for language models; this one takes \(model.config.input)")
        }
        let bytes = try readBytes(feedTokens)
        guard !bytes.isEmpty, bytes.count % 2 == 0 else {
            throw CLIError.invalidInput("'\(feedTokens)' holds \(bytes.count) bytes, not a whole number of uint16 tokens")
        }
        let tokens = stride(from: 0, to: bytes.count, by: 2).map { Int(bytes[$0]) | Int(bytes[$0 + 1]) << 8 }
        if let bad = tokens.firstIndex(where: { $0 >= vocabulary }) {
            throw CLIError.invalidInput("'\(feedTokens)' token \(bad) is \(tokens[bad]), but the model has \(vocabulary) tokens")
        }
        let out = try RawOutput.open(path: output)
        var finished = false
        defer { if !finished { out.discardFile() } }
        let stream = model.makeStream(threads: threadOptions.threads)
        stream.startSequence(ofLength: tokens.count)
        var rows = LogitRows(out, width: vocabulary)
        for (t, token) in tokens.enumerated() {
            stream.step(token)
            try rows.append(stream.logits, flush: t == tokens.count - 1)
        }
        try out.close()
        finished = true
        Console.error("wrote \(tokens.count) rows x \(vocabulary) logits to \(out.name)")
    }

    /// One row of logits per fed frame, the sequence aligned as the reference aligns it.
    private func writeFrameLogits(model: Model, feedFrames: String) throws {
        guard model.config.input.isVector else {
            throw CLIError.invalidInput("--feed-frames is for piano-roll models; this one takes \(model.config.input)")
        }
        let width = model.config.input.width, outputs = model.config.output.count
        let bytes = try readBytes(feedFrames)
        guard !bytes.isEmpty, bytes.count % width == 0 else {
            throw CLIError.invalidInput("'\(feedFrames)' holds \(bytes.count) bytes, not a whole number of \(width)-key frames")
        }
        if let bad = bytes.firstIndex(where: { $0 > 1 }) {
            throw CLIError.invalidInput("'\(feedFrames)' byte \(bad) (frame \(bad / width), key \(bad % width)) is \(bytes[bad]), not 0 or 1")
        }
        let frames = bytes.count / width
        let out = try RawOutput.open(path: output)
        var finished = false
        defer { if !finished { out.discardFile() } }
        let stream = model.makeStream(threads: threadOptions.threads)
        stream.startSequence(ofLength: frames)
        var frame = [Float](repeating: 0, count: width)
        var rows = LogitRows(out, width: outputs)
        for t in 0..<frames {
            for k in 0..<width { frame[k] = Float(bytes[t * width + k]) }
            stream.step(vector: frame)
            try rows.append(stream.logits, flush: t == frames - 1)
        }
        try out.close()
        finished = true
        let preroll = model.config.prerollSteps(beforeSequenceOf: frames)
        Console.error("wrote \(frames) rows x \(outputs) logits to \(out.name)"
                      + (preroll > 0 ? " (after a pre-roll of \(preroll) zero frames)" : ""))
    }

    /// The bytes of `path`, each a class that must be below `classes`; an
    /// empty file is an error (a prompt or feed of nothing is a mistake).
    private func readClasses(_ path: String, classes: Int) throws -> [UInt8] {
        let bytes = try readBytes(path)
        guard !bytes.isEmpty else {
            throw CLIError.invalidInput("'\(path)' is empty: a class file holds one mu-law class per byte")
        }
        if let bad = bytes.firstIndex(where: { Int($0) >= classes }) {
            throw CLIError.invalidInput("'\(path)' byte \(bad) is class \(bytes[bad]), but the model has \(classes) classes")
        }
        return bytes
    }

    /// Every byte of `path`.
    private func readBytes(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError.invalidInput("cannot read '\(path)': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw CLIError.invalidInput("cannot read '\(path)': \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }
}

/// Rows of logits on their way to a file, written 64 rows at a time to keep
/// system calls few.
private struct LogitRows {
    let output: RawOutput
    let width: Int
    private var pending: [Float] = []

    init(_ output: RawOutput, width: Int) {
        (self.output, self.width) = (output, width)
        pending.reserveCapacity(64 * width)
    }

    /// Adds one row; writes what is pending when 64 rows are or when `flush`.
    mutating func append(_ row: UnsafeBufferPointer<Float>, flush: Bool) throws {
        pending.append(contentsOf: row)
        guard flush || pending.count >= 64 * width else { return }
        try pending.withUnsafeBufferPointer { try output.write(floats: $0) }
        pending.removeAll(keepingCapacity: true)
    }
}
