#if canImport(Glibc)
import Glibc
#endif

/// A fixed-size, 64-byte aligned float array that owns its memory.
///
/// Weights and stream state are built from these so that the hot path works
/// on raw pointers with no reference counting, bounds checks or copy-on-write.
public final class FloatBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Zero-filled storage for `count` floats.
    public convenience init(count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// Storage for `count` floats whose contents are unspecified: for scratch
    /// that is written before it is read, where zero-filling tens of
    /// megabytes would cost more than the work.
    public init(uninitializedCount count: Int) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw: UnsafeMutableRawPointer
        #if canImport(Glibc)
        if bytes >= 8 * FloatBuffer.hugePage {
            // Tens of megabytes touched once each: in 2 MiB pages the kernel
            // takes one fault per page instead of 512 (where transparent huge
            // pages are enabled; a hint otherwise ignored).
            let rounded = (bytes + FloatBuffer.hugePage - 1) / FloatBuffer.hugePage * FloatBuffer.hugePage
            raw = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: FloatBuffer.hugePage)
            _ = madvise(raw, rounded, MADV_HUGEPAGE)
        } else {
            raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        }
        #else
        raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        #endif
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    private static let hugePage = 2 << 20

    /// A copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: count) }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// One zeroed allocation handed out in consecutive pieces: a stream state's
/// ring buffers and vectors, carved once at creation.
final class FloatArena {
    let buffer: FloatBuffer
    private var used = 0

    init(count: Int) { buffer = FloatBuffer(count: count) }

    /// The next `count` floats.
    func carve(_ count: Int) -> UnsafeMutablePointer<Float> {
        precondition(used + count <= buffer.count, "arena overrun")
        defer { used += count }
        return buffer.pointer + used
    }

    var bytes: Int { buffer.count * MemoryLayout<Float>.size }
}

/// A fixed-size, 64-byte aligned, zeroed byte array that owns its memory:
/// packed weights in any precision.
public final class ByteBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let count: Int

    public init(count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }
}
