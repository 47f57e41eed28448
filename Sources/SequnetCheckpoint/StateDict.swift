/// How a tensor's values are (or are to be) stored in a file.
public enum TensorDType: String, Sendable, Equatable {
    /// IEEE float32, the values as they are.
    case float32 = "F32"
    /// bfloat16: every value is exactly representable in it.
    case bfloat16 = "BF16"
    /// Symmetric int8 with float32 scales: `values` are the dequantised
    /// `code * scale`, and `int8Codes` says where the scales are.
    case int8 = "I8"
}

/// A named float32 tensor as read from a checkpoint, in row-major order.
public struct Tensor: Sendable, Equatable {
    /// Dimensions, outermost first (PyTorch's `size()`).
    public var shape: [Int]
    /// `shape.reduce(1, *)` values, row-major (contiguous), float32.
    public var values: [Float]
    /// The format the values came from or go to. Reduced formats hold only
    /// values that format represents exactly, so a round trip through a file
    /// changes nothing.
    public var dtype: TensorDType
    /// For `.int8`: the scale of each slice along `scaleAxis` (one per output
    /// channel), so that `values[i] = code[i] * scales[slice of i]`.
    public var scales: [Float]?
    public var scaleAxis: Int?

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape does not match value count")
        self.shape = shape
        self.values = values
        dtype = .float32
    }

    /// A tensor of bf16-representable values, stored as bf16.
    public init(shape: [Int], bfloat16Values values: [Float]) {
        self.init(shape: shape, values: values)
        dtype = .bfloat16
    }

    /// An int8 tensor: `values` are `code * scales[slice]` along `axis`.
    public init(shape: [Int], int8Values values: [Float], scales: [Float], axis: Int) {
        precondition(axis < shape.count && scales.count == shape[axis])
        self.init(shape: shape, values: values)
        (dtype, self.scales, scaleAxis) = (.int8, scales, axis)
    }

    /// Elements in one slice along `axis` times the slices after it: the
    /// stride of `axis` in row-major order.
    public func stride(of axis: Int) -> Int { shape[(axis + 1)...].reduce(1, *) }

    /// The int8 code of each value (`values[i] / scale`), for writing.
    public func int8Codes() -> [Int8] {
        guard let scales, let axis = scaleAxis else { return [] }
        let inner = stride(of: axis), size = shape[axis]
        return values.indices.map { i in
            let scale = scales[(i / inner) % size]
            return scale == 0 ? 0 : Int8(max(-127, min(127, (values[i] / scale).rounded())))
        }
    }

    /// Number of elements.
    public var count: Int { values.count }
}

/// The on-disk format a checkpoint was recognised as (by content, never by name).
public enum CheckpointFormat: String, Sendable, CustomStringConvertible {
    /// torch.save since torch 1.6: a zip archive holding `data.pkl` and storages.
    case torchZip = "torch-zip"
    /// torch.save before torch 1.6: pickles followed by raw storages.
    case torchLegacy = "torch-legacy"
    /// The safetensors format: JSON header plus raw little-endian data.
    case safetensors = "safetensors"

    public var description: String { rawValue }
}

/// A model's parameters by state-dict name, plus free-form string metadata
/// (safetensors `__metadata__`; empty for PyTorch files) and, for a whole
/// pickled module, the class of each of its modules.
public struct StateDict: Sendable {
    /// Tensor names in file order.
    public var names: [String]
    /// Tensors by name.
    public var tensors: [String: Tensor]
    /// String metadata (architecture, hyper-parameters) where the format has it.
    public var metadata: [String: String]
    /// The format the tensors were read from.
    public var format: CheckpointFormat
    /// For a whole pickled torch module (`torch.save(model, f)`): the class
    /// of each module, `module.qualname` as the pickle names it (recorded,
    /// never resolved), by state-dict prefix: "" is the top module, then
    /// e.g. "conv", "conv.network.0". Empty for every other kind of file.
    public var moduleClasses: [String: String]

    public init(names: [String] = [], tensors: [String: Tensor] = [:],
                metadata: [String: String] = [:], format: CheckpointFormat,
                moduleClasses: [String: String] = [:]) {
        self.names = names
        self.tensors = tensors
        self.metadata = metadata
        self.format = format
        self.moduleClasses = moduleClasses
    }

    /// Adds or replaces a tensor, keeping first-insertion order.
    public mutating func set(_ name: String, _ tensor: Tensor) {
        if tensors.updateValue(tensor, forKey: name) == nil { names.append(name) }
    }
}
