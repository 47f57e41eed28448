import ArgumentParser
import Foundation
import SequnetAudio
import SequnetEngine

/// `sequnet logits`: teacher-forced logits, the golden fixtures' layout.
struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write teacher-forced logits as float32 little-endian rows of 256 values.",
        discussion: """
            Row 0 is the logits right after priming with --prompt-classes; row i the logits \
            after feeding byte i-1 of --feed-classes: len(feed)+1 rows in all, the layout of \
            Tests/Fixtures/NAME.logits.f32. Class files hold one mu-law class per byte.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions

    @Option(name: .customLong("prompt-classes"), help: ArgumentHelp("Classes that prime the model (u8).", valueName: "P.u8"),
            completion: .file())
    var promptClasses: String

    @Option(name: .customLong("feed-classes"), help: ArgumentHelp("Classes fed one at a time (u8).", valueName: "S.u8"),
            completion: .file())
    var feedClasses: String

    @Option(name: [.short, .long], help: ArgumentHelp("Output file, or - for stdout.", valueName: "OUT.f32"))
    var output: String

    func validate() throws {
        try requireFile(promptClasses, what: "prompt classes file")
        try requireFile(feedClasses, what: "feed classes file")
        if output.isEmpty { throw ValidationError("-o needs a file name or -") }
    }

    func run() throws {
        let loaded = try modelOptions.load()
        let model = loaded.model
        let classes = model.config.output.count
        let prompt = try readClasses(promptClasses, classes: classes)
        let feed = try readClasses(feedClasses, classes: classes)

        let out = try RawOutput.open(path: output)
        // A file cut short (a full disk) would read as fewer rows: remove it.
        var finished = false
        defer { if !finished { out.discardFile() } }
        let stream = model.makeStream(threads: threadOptions.threads)
        stream.prime(with: prompt)
        // Rows are batched into one write per 64 to keep system calls few.
        var rows = [Float](); rows.reserveCapacity(64 * classes)
        func emit(flush: Bool) throws {
            rows.append(contentsOf: stream.logits)
            if flush || rows.count >= 64 * classes {
                try rows.withUnsafeBufferPointer { try out.write(floats: $0) }
                rows.removeAll(keepingCapacity: true)
            }
        }
        try emit(flush: feed.isEmpty)
        for (i, cls) in feed.enumerated() {
            stream.step(Int(cls))
            try emit(flush: i == feed.count - 1)
        }
        try out.close()
        finished = true
        Console.error("wrote \(feed.count + 1) rows x \(classes) logits to \(out.name)")
    }

    /// The bytes of `path`, each a class that must be below `classes`; an
    /// empty file is an error (a prompt or feed of nothing is a mistake).
    private func readClasses(_ path: String, classes: Int) throws -> [UInt8] {
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
        guard !bytes.isEmpty else {
            throw CLIError.invalidInput("'\(path)' is empty: a class file holds one mu-law class per byte")
        }
        if let bad = bytes.firstIndex(where: { Int($0) >= classes }) {
            throw CLIError.invalidInput("'\(path)' byte \(bad) is class \(bytes[bad]), but the model has \(classes) classes")
        }
        return bytes
    }
}
