/// A named float32 tensor as read from a checkpoint, in row-major order.
public struct Tensor: Sendable, Equatable {
    /// Dimensions, outermost first (PyTorch's `size()`).
    public var shape: [Int]
    /// `shape.reduce(1, *)` values, row-major (contiguous), float32.
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape does not match value count")
        self.shape = shape
        self.values = values
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
/// (safetensors `__metadata__`; empty for PyTorch files).
public struct StateDict: Sendable {
    /// Tensor names in file order.
    public var names: [String]
    /// Tensors by name.
    public var tensors: [String: Tensor]
    /// String metadata (architecture, hyper-parameters) where the format has it.
    public var metadata: [String: String]
    /// The format the tensors were read from.
    public var format: CheckpointFormat

    public init(names: [String] = [], tensors: [String: Tensor] = [:],
                metadata: [String: String] = [:], format: CheckpointFormat) {
        self.names = names
        self.tensors = tensors
        self.metadata = metadata
        self.format = format
    }

    /// Adds or replaces a tensor, keeping first-insertion order.
    public mutating func set(_ name: String, _ tensor: Tensor) {
        if tensors.updateValue(tensor, forKey: name) == nil { names.append(name) }
    }
}
