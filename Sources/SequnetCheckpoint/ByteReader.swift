/// A cursor over untrusted bytes. Every read is bounds-checked and throws
/// `CheckpointError.truncated` instead of trapping; offsets are absolute in
/// `bytes` so errors point at the right place in the file.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    /// Reads never go past this offset (the end of the region being parsed).
    let end: Int
    var offset: Int
    /// Names the region in truncation errors ("pickle", "zip central directory", ...).
    let what: String

    init(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, to end: Int? = nil, what: String) {
        self.bytes = bytes
        self.end = min(end ?? bytes.count, bytes.count)
        self.offset = min(max(start, 0), self.end)
        self.what = what
    }

    var remaining: Int { end - offset }
    var isAtEnd: Bool { offset >= end }

    /// Checks that `count` bytes are available and returns where they start.
    mutating func take(_ count: Int) throws -> Int {
        guard count >= 0, count <= remaining else {
            throw CheckpointError.truncated(what: what, offset: offset, needed: count, available: remaining)
        }
        let start = offset
        offset += count
        return start
    }

    mutating func u8() throws -> UInt8 {
        let at = try take(1)
        return bytes[at]
    }

    mutating func u16() throws -> UInt16 {
        let at = try take(2)
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self))
    }

    mutating func u32() throws -> UInt32 {
        let at = try take(4)
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }

    mutating func u64() throws -> UInt64 {
        let at = try take(8)
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }

    mutating func i32() throws -> Int32 { Int32(bitPattern: try u32()) }
    mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }

    /// Big-endian float64 (pickle's BINFLOAT).
    mutating func f64BigEndian() throws -> Double {
        let at = try take(8)
        return Double(bitPattern: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
    }

    /// `count` raw bytes as a slice of the underlying buffer (no copy).
    mutating func slice(_ count: Int) throws -> UnsafeRawBufferPointer {
        let at = try take(count)
        return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + count)])
    }

    /// Bytes up to (not including) the next newline; consumes the newline.
    mutating func line(maxLength: Int = 1 << 16) throws -> UnsafeRawBufferPointer {
        var i = offset
        while i < end, bytes[i] != 0x0a {
            i += 1
            if i - offset > maxLength {
                throw CheckpointError.limitExceeded(what: "\(what) text line length", limit: maxLength)
            }
        }
        guard i < end else {
            throw CheckpointError.truncated(what: "\(what) newline-terminated argument", offset: offset,
                                            needed: i - offset + 1, available: remaining)
        }
        let start = offset
        offset = i + 1
        return UnsafeRawBufferPointer(rebasing: bytes[start..<i])
    }
}

/// Checked conversion of an untrusted unsigned size to `Int`.
func checkedInt(_ value: UInt64, _ what: String) throws -> Int {
    guard value <= UInt64(Int.max) else {
        throw CheckpointError.limitExceeded(what: what, limit: Int.max)
    }
    return Int(value)
}

/// Product of untrusted dimensions with overflow and sign checks; nil if any
/// dimension is negative or the product overflows.
func checkedProduct(_ dims: [Int]) -> Int? {
    var product = 1
    for d in dims {
        guard d >= 0 else { return nil }
        let (p, overflow) = product.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        product = p
    }
    return product
}

/// Reads `count` little-endian float32 values starting at byte `at`.
func readFloats(_ bytes: UnsafeRawBufferPointer, at: Int, count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { out, initialised in
        for i in 0..<count {
            let bits = bytes.loadUnaligned(fromByteOffset: at + 4 * i, as: UInt32.self)
            out[i] = Float(bitPattern: UInt32(littleEndian: bits))
        }
        initialised = count
    }
}
