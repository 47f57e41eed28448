/// A minimal reader for the zip archives `torch.save` writes: "stored"
/// (uncompressed) entries, ZIP64 end records, and local headers whose extra
/// field pads the data to a 64-byte boundary. Entries are located through the
/// central directory; each local header is only used to find where the data
/// starts (torch sets the data-descriptor flag, so its sizes there are zero).
struct ZipArchive {
    struct Entry {
        let name: String
        /// Byte range of the entry's data within the archive.
        let dataStart: Int
        let size: Int
    }

    /// Entries in central-directory order.
    private(set) var entries: [Entry] = []
    private var byName: [String: Int] = [:]
    /// The one folder every entry lives under (torch's archive name).
    private(set) var topFolder = ""

    /// Whether `bytes` starts like a zip archive (a local header or, for an
    /// archive with no entries, the end record).
    static func looksLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 4 else { return false }
        let sig = bytes.loadUnaligned(as: UInt32.self).littleEndian
        return sig == 0x0403_4b50 || sig == 0x0605_4b50
    }

    /// Limits so that a hostile central directory cannot make us allocate much.
    private static let maxEntries = 1 << 20
    private static let maxNameLength = 4096

    init(_ bytes: UnsafeRawBufferPointer) throws {
        let (count, directoryStart, directorySize) = try Self.findCentralDirectory(bytes)
        guard count <= Self.maxEntries else {
            throw CheckpointError.limitExceeded(what: "zip entry count", limit: Self.maxEntries)
        }
        let (directoryEnd, overflow) = directoryStart.addingReportingOverflow(directorySize)
        guard !overflow, directoryEnd <= bytes.count else {
            throw CheckpointError.malformedZip("central directory (\(directorySize) bytes at \(directoryStart)) lies outside the file")
        }
        var r = ByteReader(bytes, from: directoryStart, to: directoryEnd, what: "zip central directory")
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let entry = try Self.readCentralEntry(&r, bytes)
            guard byName[entry.name] == nil else {
                throw CheckpointError.unsafeEntryPath(name: entry.name, reason: "the archive holds it twice")
            }
            byName[entry.name] = entries.count
            entries.append(entry)
        }
        topFolder = try Self.commonTopFolder(entries.map(\.name))
    }

    /// The data of the entry with this full name.
    func data(_ name: String, in bytes: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        guard let i = byName[name] else { throw CheckpointError.missingEntry(name) }
        let e = entries[i]
        return UnsafeRawBufferPointer(rebasing: bytes[e.dataStart..<(e.dataStart + e.size)])
    }

    func contains(_ name: String) -> Bool { byName[name] != nil }

    // MARK: - End records

    /// Entry count, start and size of the central directory, from the end of
    /// central directory record (and its ZIP64 counterpart when present).
    private static func findCentralDirectory(_ bytes: UnsafeRawBufferPointer) throws -> (Int, Int, Int) {
        // The end record is 22 bytes plus a comment of at most 65535 bytes.
        let minEnd = 22
        guard bytes.count >= minEnd else { throw CheckpointError.malformedZip("file too short for an end of central directory record") }
        var at = bytes.count - minEnd
        let lowest = max(0, bytes.count - minEnd - 0xffff)
        while at >= lowest {
            if bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian == 0x0605_4b50 { break }
            at -= 1
        }
        guard at >= lowest else { throw CheckpointError.malformedZip("no end of central directory record") }

        var r = ByteReader(bytes, from: at + 4, what: "zip end record")
        let disk = try r.u16(), directoryDisk = try r.u16()
        _ = try r.u16()
        var count = UInt64(try r.u16())
        var size = UInt64(try r.u32())
        var start = UInt64(try r.u32())
        guard disk == 0 || disk == 0xffff, directoryDisk == 0 || directoryDisk == 0xffff else {
            throw CheckpointError.malformedZip("multi-disk archives are not supported")
        }
        if count == 0xffff || size == 0xffff_ffff || start == 0xffff_ffff {
            // ZIP64: a 20-byte locator just before the end record points at the ZIP64 end record.
            guard at >= 20 else { throw CheckpointError.malformedZip("ZIP64 end record locator missing") }
            var loc = ByteReader(bytes, from: at - 20, to: at, what: "zip64 end locator")
            guard try loc.u32() == 0x0706_4b50 else { throw CheckpointError.malformedZip("ZIP64 end record locator missing") }
            _ = try loc.u32()
            let recordAt = try checkedInt(try loc.u64(), "zip64 end record offset")
            var rec = ByteReader(bytes, from: recordAt, what: "zip64 end record")
            guard recordAt < bytes.count, try rec.u32() == 0x0606_4b50 else {
                throw CheckpointError.malformedZip("ZIP64 end record not found at offset \(recordAt)")
            }
            _ = try rec.u64()  // record size
            _ = try rec.u16(); _ = try rec.u16()  // versions
            _ = try rec.u32(); _ = try rec.u32()  // disks
            _ = try rec.u64()  // entries on this disk
            count = try rec.u64()
            size = try rec.u64()
            start = try rec.u64()
        }
        return (try checkedInt(count, "zip entry count"), try checkedInt(start, "zip directory offset"),
                try checkedInt(size, "zip directory size"))
    }

    // MARK: - Entries

    private static func readCentralEntry(_ r: inout ByteReader, _ bytes: UnsafeRawBufferPointer) throws -> Entry {
        let headerAt = r.offset
        guard try r.u32() == 0x0201_4b50 else {
            throw CheckpointError.malformedZip("bad central directory header signature at offset \(headerAt)")
        }
        _ = try r.u16(); _ = try r.u16()  // versions
        let flags = try r.u16()
        let method = try r.u16()
        _ = try r.u32()  // time, date
        _ = try r.u32()  // crc
        var compressed = UInt64(try r.u32())
        var uncompressed = UInt64(try r.u32())
        let nameLength = Int(try r.u16())
        let extraLength = Int(try r.u16())
        let commentLength = Int(try r.u16())
        _ = try r.u16(); _ = try r.u16(); _ = try r.u32()  // disk, attributes
        var localAt = UInt64(try r.u32())
        guard nameLength <= maxNameLength else {
            throw CheckpointError.limitExceeded(what: "zip entry name length", limit: maxNameLength)
        }
        guard let name = String(validating: try r.slice(nameLength), as: UTF8.self) else {
            throw CheckpointError.malformedZip("entry name at offset \(headerAt) is not UTF-8")
        }
        try checkPath(name)  // first, so later messages can show the name as is
        // ZIP64 extra field (id 1): 64-bit values for exactly those fields set to 0xffffffff.
        var extra = ByteReader(try r.slice(extraLength), what: "zip extra field of \(name)")
        while extra.remaining >= 4 {
            let id = try extra.u16()
            let length = Int(try extra.u16())
            var field = ByteReader(try extra.slice(length), what: "zip64 extra field of \(name)")
            if id == 1 {
                if uncompressed == 0xffff_ffff { uncompressed = try field.u64() }
                if compressed == 0xffff_ffff { compressed = try field.u64() }
                if localAt == 0xffff_ffff { localAt = try field.u64() }
            }
        }
        _ = try r.take(commentLength)

        guard flags & 1 == 0 else { throw CheckpointError.malformedZip("entry \(name) is encrypted") }
        guard method == 0 else { throw CheckpointError.compressedEntry(name: name, method: Int(method)) }
        guard compressed == uncompressed else {
            throw CheckpointError.malformedZip("stored entry \(name) has compressed size \(compressed) != size \(uncompressed)")
        }

        // The local header repeats the name and has its own extra field
        // (torch's alignment padding); the data follows both.
        let local = try checkedInt(localAt, "zip local header offset")
        var lr = ByteReader(bytes, from: local, what: "zip local header of \(name)")
        guard local < bytes.count, try lr.u32() == 0x0403_4b50 else {
            throw CheckpointError.malformedZip("entry \(name): no local header at offset \(local)")
        }
        _ = try lr.take(22)
        let localNameLength = Int(try lr.u16())
        let localExtraLength = Int(try lr.u16())
        let localName = try lr.slice(localNameLength)
        guard localName.elementsEqual(name.utf8) else {
            throw CheckpointError.malformedZip("entry \(name): local header names a different file")
        }
        _ = try lr.take(localExtraLength)
        let size = try checkedInt(uncompressed, "zip entry size")
        let dataStart = lr.offset
        guard size <= bytes.count - dataStart else {
            throw CheckpointError.truncated(what: "zip entry \(name)", offset: dataStart, needed: size,
                                            available: bytes.count - dataStart)
        }
        return Entry(name: name, dataStart: dataStart, size: size)
    }

    /// Refuses names that could mean something outside the archive's folder.
    private static func checkPath(_ name: String) throws {
        if name.hasPrefix("/") { throw CheckpointError.unsafeEntryPath(name: name, reason: "absolute path") }
        if name.contains("\\") { throw CheckpointError.unsafeEntryPath(name: name, reason: "backslash in path") }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            throw CheckpointError.unsafeEntryPath(name: name, reason: "control character in path")
        }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains(where: { $0 == ".." || $0 == "." }) {
            throw CheckpointError.unsafeEntryPath(name: name, reason: "'.' or '..' path component")
        }
        if parts.count < 2 || parts.contains(where: \.isEmpty) {
            throw CheckpointError.unsafeEntryPath(name: name, reason: "not a file inside the archive's top folder")
        }
    }

    /// torch puts every entry under one folder named after the archive.
    private static func commonTopFolder(_ names: [String]) throws -> String {
        guard let first = names.first, let slash = first.firstIndex(of: "/") else {
            throw CheckpointError.malformedZip("archive has no entries")
        }
        let top = String(first[..<slash])
        for name in names where !name.hasPrefix(top + "/") {
            throw CheckpointError.unsafeEntryPath(name: name, reason: "outside the archive's top folder \(quoted(top))")
        }
        return top
    }
}
