/// Why audio could not be read, written or converted. Each renders as one line
/// that names the file (or stream) at fault.
public enum AudioError: Error, CustomStringConvertible, Equatable {
    /// libsndfile could not open or recognise the file.
    case cannotOpen(path: String, reason: String)
    /// Reading frames failed part-way through the file.
    case readFailed(path: String, reason: String)
    /// The file declares a sample rate or channel count that cannot be used.
    case unsupportedLayout(path: String, reason: String)
    /// Writing (or finalising) an output failed: disk full, I/O error, closed file.
    case writeFailed(path: String, reason: String)
    /// The reader of a pipe went away (EPIPE). Not a failure for a streaming
    /// tool: callers stop writing and exit quietly.
    case outputClosed(path: String)
    /// libsamplerate refused or failed the conversion.
    case resampleFailed(String)
    /// The caller asked reading to stop (a signal) before the file was read.
    case interrupted(path: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open audio '\(path)': \(reason)"
        case .readFailed(let path, let reason): return "cannot read audio '\(path)': \(reason)"
        case .unsupportedLayout(let path, let reason): return "unsupported audio '\(path)': \(reason)"
        case .writeFailed(let path, let reason): return "cannot write '\(path)': \(reason)"
        case .outputClosed(let path): return "'\(path)' was closed by its reader"
        case .resampleFailed(let reason): return "sample-rate conversion failed: \(reason)"
        case .interrupted(let path): return "interrupted while reading audio '\(path)'"
        }
    }
}

/// libsndfile and strerror messages sometimes end in a newline or period-space;
/// errors must stay on one line.
func oneLine(_ message: String) -> String {
    message.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
        .map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
        .joined(separator: " ")
}
