import Foundation
import SequnetAudio
import SequnetBench

#if canImport(Glibc)
import Glibc
#endif

/// stderr output and terminal checks. stdout carries only requested data.
enum Console {
    /// Writes one line to stderr, unbuffered.
    static func error(_ line: String) { errorRaw(line + "\n") }

    /// Writes text to stderr without a newline (progress redraws).
    ///
    /// Through `RawOutput` (write(2), retried on EINTR), not FileHandle,
    /// whose failed writes trap: a log line that cannot be written (stderr
    /// closed, on a full disk, into a closed pipe) is dropped, and the exit
    /// status still says what happened.
    static func errorRaw(_ text: String) {
        Array(text.utf8).withUnsafeBytes { _ = try? standardError.write($0) }
    }

    private static let standardError = RawOutput.wrapping(fileDescriptor: 2, name: "stderr")

    /// Whether stderr is a terminal: progress bars only go to a person.
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// Columns of the terminal on stderr (80 if it does not say).
    static var stderrColumns: Int {
        var size = winsize()
        guard ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}

/// Errors of the command itself (not of a library). Each is one line.
enum CLIError: Error, CustomStringConvertible {
    case noDefaultModel
    case environmentModelMissing(String)
    case emptyInput(String)
    case invalidInput(String)
    case interrupted(String)
    /// The engine produced a NaN or infinite logit (a model or engine fault).
    case nonFiniteLogits(sample: Int)
    /// Same, while scoring a recording (nothing is written, so nothing is kept).
    case nonFiniteScore(sample: Int)

    var description: String {
        switch self {
        case .noDefaultModel:
            return "no default model yet (\(ModelLocator.defaultRelativePath) is missing); pass -m MODEL"
        case .environmentModelMissing(let path):
            return "SEQUNET_MODEL names '\(path)', which does not exist"
        case .emptyInput(let what): return "\(what) is empty"
        case .invalidInput(let what): return what
        case .interrupted(let what): return "interrupted: \(what)"
        case .nonFiniteLogits(let sample):
            return "the model produced a NaN or infinite logit before sample \(sample); stopped after writing \(sample) good samples"
        case .nonFiniteScore(let sample):
            return "the model produced a NaN or infinite logit at sample \(sample) of the recording; no score"
        }
    }
}

/// Thousands separators for counts shown to people ("26,870,016").
func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return (n < 0 ? "-" : "") + out
}

/// Bytes in B/kB/MB/GB (powers of 1000).
func humanBytes(_ bytes: Double) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var value = bytes, unit = 0
    while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f %@", value, units[unit])
}

/// Monotonic seconds.
func now() -> Double { MonotonicClock.seconds() }

/// Prints `value` as one line of JSON on stdout (keys sorted, slashes as they are).
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
