#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads any supported checkpoint (torch zip, torch legacy, safetensors),
/// recognising the format by content, never by file name or extension. A
/// torch file may hold a state dict, a trainer dict holding one, or a whole
/// pickled module (`torch.save(model, f)`), whose tensors come back named as
/// `model.state_dict()` names them and whose classes are in `moduleClasses`.
///
/// The file is memory-mapped and every tensor copied out, so the result does
/// not keep the file open. Errors name the file.
public func readCheckpoint(atPath path: String) throws -> StateDict {
    do {
        return try withMappedFile(path) { try readCheckpoint(bytes: $0) }
    } catch let error as CheckpointError {
        if case .cannotOpen = error { throw error }
        throw CheckpointError.inFile(path: path, error)
    }
}

/// Reads any supported checkpoint from bytes in memory (fuzzers, tests).
/// Never traps on malformed input: everything wrong is a `CheckpointError`.
public func readCheckpoint(bytes: UnsafeRawBufferPointer) throws -> StateDict {
    guard bytes.count > 0 else { throw CheckpointError.empty }
    if ZipArchive.looksLikeZip(bytes) { return try readTorchZip(bytes) }
    // safetensors before pickles: a header length whose low byte is 0x80
    // starts a safetensors file with the PROTO opcode. A legacy torch file
    // never has '{' at byte 8 (its magic number is there).
    if looksLikeSafetensors(bytes) { return try readSafetensors(bytes) }
    // A legacy file opens with a protocol-2 pickle (PROTO 2). Any pickle is
    // routed here so that a hostile one is refused by the unpickler by name.
    if bytes[0] == Opcode.proto.rawValue { return try readTorchLegacy(bytes) }
    throw CheckpointError.unrecognisedFormat(firstBytes: bytes.prefix(8).map { hex($0) }.joined(separator: " "))
}

/// Writes the tensors (float32) and string metadata of `dict` as safetensors,
/// tensors in `dict.names` order with contiguous offsets, the header padded
/// with spaces to a multiple of 8 bytes, with `writeFileAtomically`.
public func writeSafetensors(_ dict: StateDict, toPath path: String) throws {
    try writeFileAtomically(try encodeSafetensors(dict), toPath: path)
}

/// Writes `bytes` to a temporary name beside `path` and renames it over
/// `path`, so readers never see a partial file.
///
/// Only a regular file is ever replaced: an existing `path` that is a device,
/// a FIFO, a socket or a directory is refused (a rename would put a file in
/// place of `/dev/full`), as is a regular file the caller may not write
/// (its folder's permission would let a rename replace it anyway). A symbolic
/// link is followed: the file it names is replaced, the link stays.
public func writeFileAtomically(_ bytes: [UInt8], toPath path: String) throws {
    var target = path
    var info = stat()
    if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK, let resolved = realpath(path, nil) {
        target = String(cString: resolved)
        free(resolved)
    }
    if stat(target, &info) == 0 {
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError.writeFailed(path: path, reason: "not a regular file (a device, FIFO or folder); name a file to write")
        }
        guard access(target, W_OK) == 0 else {
            throw CheckpointError.writeFailed(path: path, reason: "the file is not writable")
        }
    }
    let temporary = target + ".tmp-\(getpid())"
    func failure(_ what: String) -> CheckpointError {
        .writeFailed(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
    }
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard fd >= 0 else { throw failure("open") }
    var written = 0
    let ok = bytes.withUnsafeBytes { buffer -> Bool in
        while written < buffer.count {
            let n = write(fd, buffer.baseAddress! + written, buffer.count - written)
            if n < 0 { if errno == EINTR { continue }; return false }
            written += n
        }
        return true
    }
    guard ok else {
        let error = failure("write")
        close(fd); unlink(temporary)
        throw error
    }
    guard close(fd) == 0 else { unlink(temporary); throw failure("close") }
    guard rename(temporary, target) == 0 else {
        let error = failure("rename")
        unlink(temporary)
        throw error
    }
}

/// Maps `path` read-only for the duration of `body`.
private func withMappedFile<T>(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
    func failure(_ what: String) -> CheckpointError {
        .cannotOpen(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
    }
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw failure("open") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw failure("stat") }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
        throw CheckpointError.cannotOpen(path: path, reason: "not a regular file")
    }
    let size = Int(info.st_size)
    if size == 0 { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
        throw failure("mmap")
    }
    defer { munmap(base, size) }
    return try body(UnsafeRawBufferPointer(start: base, count: size))
}
