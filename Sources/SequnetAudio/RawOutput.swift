#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered binary output to a file descriptor: raw s16le audio or float32
/// rows, to a file or to standard output (`-o -`).
///
/// Each `write` goes straight to `write(2)` and is retried on EINTR and short
/// writes, so a caller that writes small chunks streams with low latency.
/// A reader that closes the pipe surfaces as `AudioError.outputClosed`
/// (requires SIGPIPE to be ignored, see `ignoreBrokenPipeSignal()`); anything
/// else (ENOSPC, EIO, ...) as `AudioError.writeFailed`.
public final class RawOutput {
    /// The name used in error messages ("stdout" or the path).
    public let name: String
    private var fd: Int32
    private let ownsDescriptor: Bool
    private var scratch: [UInt8] = []
    /// Bytes written so far.
    public private(set) var bytesWritten = 0

    /// Standard output. Not closed by `close()`.
    public static func standardOutput() -> RawOutput { RawOutput(fd: 1, name: "stdout", owns: false) }

    /// Writes to an already open descriptor (a pipe, a socket), which the
    /// caller keeps owning: `close()` leaves it open.
    public static func wrapping(fileDescriptor fd: Int32, name: String) -> RawOutput {
        RawOutput(fd: fd, name: name, owns: false)
    }

    /// Writes to `path` ("-" means standard output), creating or truncating it.
    ///
    /// - Throws: `AudioError.writeFailed` if the file cannot be created.
    public static func open(path: String) throws -> RawOutput {
        if path == "-" { return standardOutput() }
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AudioError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        return RawOutput(fd: fd, name: path, owns: true)
    }

    private init(fd: Int32, name: String, owns: Bool) {
        self.fd = fd
        self.name = name
        ownsDescriptor = owns
    }

    deinit { if ownsDescriptor && fd >= 0 { Glibc.close(fd) } }

    /// Writes all of `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw AudioError.writeFailed(path: name, reason: "already closed") }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EPIPE { throw AudioError.outputClosed(path: name) }
                throw AudioError.writeFailed(path: name, reason: String(cString: strerror(code)))
            }
            offset += n
            bytesWritten += n
        }
    }

    /// Writes samples as 16-bit little-endian PCM.
    public func write(samples: UnsafeBufferPointer<Int16>) throws {
        try writeLittleEndian(samples, as: Int16.self) { $0.littleEndian }
    }

    /// Writes floats as IEEE-754 float32 little-endian.
    public func write(floats: UnsafeBufferPointer<Float>) throws {
        try writeLittleEndian(floats, as: UInt32.self) { $0.bitPattern.littleEndian }
    }

    private func writeLittleEndian<T, W: FixedWidthInteger>(
        _ values: UnsafeBufferPointer<T>, as: W.Type, _ convert: (T) -> W
    ) throws {
        let bytes = values.count * MemoryLayout<W>.size
        if scratch.count < bytes { scratch = [UInt8](repeating: 0, count: bytes) }
        try scratch.withUnsafeMutableBytes { raw in
            let out = raw.bindMemory(to: W.self)
            for i in 0..<values.count { out[i] = convert(values[i]) }
            try write(UnsafeRawBufferPointer(start: raw.baseAddress, count: bytes))
        }
    }

    /// Closes a regular file opened with `open(path:)` and removes it: for an
    /// output that failed part way and would mislead if kept. Standard
    /// output, pipes and devices are left alone.
    public func discardFile() {
        guard ownsDescriptor else { return }
        var info = stat()
        let regular = fd >= 0 && fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
        if fd >= 0 { Glibc.close(fd); fd = -1 }
        if regular { unlink(name) }
    }

    /// Closes a file opened with `open(path:)` (standard output stays open).
    ///
    /// - Throws: `AudioError.writeFailed` if `close(2)` reports a deferred
    ///   write error (NFS, some full disks).
    public func close() throws {
        guard ownsDescriptor, fd >= 0 else { return }
        let status = Glibc.close(fd)
        fd = -1
        if status != 0 { throw AudioError.writeFailed(path: name, reason: String(cString: strerror(errno))) }
    }
}

/// Ignores SIGPIPE so that writing to a closed pipe returns EPIPE (reported
/// as `AudioError.outputClosed`) instead of killing the process.
public func ignoreBrokenPipeSignal() {
    signal(SIGPIPE, SIG_IGN)
}
