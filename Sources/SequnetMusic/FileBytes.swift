#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a whole file ("-" is standard input) into memory, refusing more
/// than `limit` bytes. Pipes have no size up front, so the limit is checked
/// while reading rather than trusted from `fstat`.
func readFileBytes(atPath path: String, limit: Int) throws -> [UInt8] {
    let fd: Int32 = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw MusicError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
    defer { if fd != 0 { close(fd) } }

    var status = stat()
    if fstat(fd, &status) == 0 {
        if (status.st_mode & S_IFMT) == S_IFDIR {
            throw MusicError.cannotRead(path: path, reason: "is a directory")
        }
        if (status.st_mode & S_IFMT) == S_IFREG && Int(status.st_size) > limit {
            throw MusicError.tooLarge(path: path, bytes: Int(status.st_size), limit: limit)
        }
    }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if got < 0 {
            if errno == EINTR { continue }
            throw MusicError.cannotRead(path: path, reason: String(cString: strerror(errno)))
        }
        if got == 0 { break }
        if bytes.count + got > limit {
            throw MusicError.tooLarge(path: path, bytes: bytes.count + got, limit: limit)
        }
        bytes.append(contentsOf: chunk[0..<got])
    }
    return bytes
}
