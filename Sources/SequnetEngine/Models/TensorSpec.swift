import SequnetCheckpoint

/// One tensor of a family's reference state dict.
public struct TensorSpec: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    /// Inputs feeding each output of the tensor's layer: PyTorch draws a
    /// fresh conv's weights uniformly in ±1/sqrt(fanIn).
    public let fanIn: Int
    /// The axis of the output channels if this is a weight the engine
    /// multiplies as a matrix (and so stores in the model's precision);
    /// nil for biases and lookup tables, which stay float32.
    public var outputAxis: Int? = nil
    /// The network's output layer, stored at `MatrixPrecision.forOutputLayer`.
    public var isOutputLayer = false
    /// The reference ties this tensor to another one (one parameter under
    /// two names, as a language model's decoder shares its embedding), so it
    /// is not counted again among the parameters.
    public var tiedTo: String? = nil

    /// The precision this tensor is stored in when the model's is `precision`.
    public func storedPrecision(_ precision: MatrixPrecision) -> MatrixPrecision {
        outputAxis == nil ? .fp32 : isOutputLayer ? precision.forOutputLayer : precision
    }

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A convolution as the reference names and shapes it. A family describes
/// each of its layers once with one of these; loading, export, random
/// weights and the parameter count all read that one description.
public struct ConvSpec: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `prefix.weight` `[outputs, inputs, kernel]` and `prefix.bias`.
        case plain
        /// A filter and a gate conv: `prefix.filter.*` and `prefix.gate.*`.
        case gated
        /// A gated transposed conv, weights `[inputs, outputs, kernel]` (ConvTranspose1d).
        case gatedTransposed
        /// A transposed conv, `prefix.weight` `[inputs, outputs, kernel]` and `prefix.bias`.
        case transposed
        /// A weight-normalised conv (`torch.nn.utils.weight_norm`, dim 0):
        /// `prefix.weight_g` `[outputs, 1, 1]`, `prefix.weight_v` `[outputs,
        /// inputs, kernel]` and `prefix.bias`. The engine folds g and v into
        /// one weight at load and rounds that to the model's precision, so
        /// neither is a matrix it stores.
        case weightNormed
    }

    public let prefix: String
    public let kind: Kind
    public let outputs: Int
    public let inputs: Int
    public let kernel: Int
    /// A one-hot input conv, read as a table of columns rather than
    /// multiplied: its weight stays float32 in every precision.
    public let isLookupTable: Bool
    /// The conv that computes the logits (see `MatrixPrecision.forOutputLayer`).
    public let isOutputLayer: Bool

    public init(_ prefix: String, _ kind: Kind, outputs: Int, inputs: Int, kernel: Int, isLookupTable: Bool = false,
                isOutputLayer: Bool = false) {
        self.isLookupTable = isLookupTable
        self.isOutputLayer = isOutputLayer
        self.prefix = prefix
        self.kind = kind
        self.outputs = outputs
        self.inputs = inputs
        self.kernel = kernel
    }

    public var weightShape: [Int] {
        isTransposed ? [inputs, outputs, kernel] : [outputs, inputs, kernel]
    }

    var isTransposed: Bool { kind == .gatedTransposed || kind == .transposed }

    /// The tensors, weight before bias, filter before gate.
    public var tensors: [TensorSpec] {
        let fanIn = (isTransposed ? outputs : inputs) * kernel
        func pair(_ stem: String) -> [TensorSpec] {
            [TensorSpec(name: "\(stem).weight", shape: weightShape, fanIn: fanIn,
                        outputAxis: isLookupTable ? nil : isTransposed ? 1 : 0, isOutputLayer: isOutputLayer),
             TensorSpec(name: "\(stem).bias", shape: [outputs], fanIn: fanIn)]
        }
        switch kind {
        case .plain, .transposed: return pair(prefix)
        case .gated, .gatedTransposed: return pair("\(prefix).filter") + pair("\(prefix).gate")
        case .weightNormed:
            return [TensorSpec(name: "\(prefix).weight_g", shape: [outputs, 1, 1], fanIn: fanIn),
                    TensorSpec(name: "\(prefix).weight_v", shape: weightShape, fanIn: fanIn),
                    TensorSpec(name: "\(prefix).bias", shape: [outputs], fanIn: fanIn)]
        }
    }
}

/// Hands out a state dict's tensors by their specs, with shape and value
/// checks, and at the end reports any tensor nobody asked for: loading is
/// strict both ways.
public struct TensorReader {
    let dict: StateDict
    /// The precision matrices are built in. Weights are first rounded to it
    /// per output channel (`Quantisation.quantised`), exactly as `sequnet
    /// convert --precision` stores them, so a converted file and the
    /// original checkpoint make the same model.
    public let precision: MatrixPrecision
    private(set) var used = Set<String>()

    public init(_ dict: StateDict, precision: MatrixPrecision = .fp32) {
        self.dict = dict
        self.precision = precision
    }

    /// The tensor `spec` names, which must have exactly its shape and only
    /// finite values; a matrix weight comes rounded to `precision`.
    public mutating func take(_ spec: TensorSpec) throws -> Tensor {
        let tensor = try takeAsStored(spec)
        guard let axis = spec.outputAxis else { return tensor }
        return Quantisation.quantised(tensor, to: spec.storedPrecision(precision), axis: axis)
    }

    private mutating func takeAsStored(_ spec: TensorSpec) throws -> Tensor {
        guard let tensor = dict.tensors[spec.name] else { throw ModelLoadError.missingTensor(spec.name) }
        guard tensor.shape == spec.shape else {
            throw ModelLoadError.wrongShape(name: spec.name, expected: spec.shape, actual: tensor.shape)
        }
        if let bad = tensor.values.firstIndex(where: { !$0.isFinite }) {
            throw ModelLoadError.nonFinite(name: spec.name, index: bad)
        }
        used.insert(spec.name)
        return tensor
    }

    /// A plain conv's weight and bias.
    public mutating func conv(_ spec: ConvSpec) throws -> (weight: Tensor, bias: Tensor) {
        precondition(spec.kind == .plain || spec.kind == .transposed)
        let t = spec.tensors
        return (try take(t[0]), try take(t[1]))
    }

    /// A gated conv's four tensors.
    mutating func gatedTensors(_ spec: ConvSpec) throws -> GatedConvTensors {
        precondition(spec.kind == .gated || spec.kind == .gatedTransposed)
        let t = spec.tensors
        return GatedConvTensors(filter: try take(t[0]), filterBias: try take(t[1]),
                                gate: try take(t[2]), gateBias: try take(t[3]))
    }

    /// The shape of a tensor a configuration is read from, which must have
    /// `dimensions` (named, for the message) entries.
    static func shape(of name: String, in dict: StateDict, dimensions: [String]) throws -> [Int] {
        guard let shape = dict.tensors[name]?.shape else { throw ModelLoadError.missingTensor(name) }
        guard shape.count == dimensions.count else {
            throw ModelLoadError.wrongRank(name: name, actual: shape,
                                           expected: "\(dimensions.count) dimensions [\(dimensions.joined(separator: ", "))]")
        }
        return shape
    }

    /// A weight-normalised conv's weight folded as torch computes it,
    /// `v * (g / ||v||)` with the norm over each output channel's inputs and
    /// taps (no epsilon), and its bias. The fold is done in double and
    /// rounded once.
    public mutating func weightNormedConv(_ spec: ConvSpec) throws -> (weight: Tensor, bias: Tensor) {
        precondition(spec.kind == .weightNormed)
        let t = spec.tensors
        let g = try take(t[0]), v = try take(t[1]), bias = try take(t[2])
        return (WeightNorm.folded(g: g, v: v), bias)
    }

    /// Marks `name` as read if the dict has it with `shape`: tensors the
    /// reference lists twice under two names (a TCN block's `net.0.*` is its
    /// `conv1.*`), which the engine reads once.
    public mutating func skipDuplicate(_ name: String, shape: [Int]) throws {
        guard let tensor = dict.tensors[name] else { return }
        guard tensor.shape == shape else { throw ModelLoadError.wrongShape(name: name, expected: shape, actual: tensor.shape) }
        used.insert(name)
    }

    /// Throws if any tensor was not taken.
    public func finish() throws {
        let extra = dict.names.filter { !used.contains($0) }
        if !extra.isEmpty { throw ModelLoadError.unexpectedTensors(extra) }
    }
}

/// A gated conv's tensors in the reference's layout.
struct GatedConvTensors {
    var filter: Tensor
    var filterBias: Tensor
    var gate: Tensor
    var gateBias: Tensor
}

/// Folding and unfolding `torch.nn.utils.weight_norm` (dim 0).
enum WeightNorm {
    /// `v * (g / ||v||)` per output channel (axis 0), in double, rounded once.
    static func folded(g: Tensor, v: Tensor) -> Tensor {
        let outputs = v.shape[0], per = v.values.count / max(outputs, 1)
        var w = [Float](repeating: 0, count: v.values.count)
        for o in 0..<outputs {
            let norm = channelNorm(v.values, channel: o, per: per)
            // g equal to the norm (as `unfolded` stores a folded weight) is a
            // factor of exactly 1, so exporting and loading again changes no
            // bit; torch's float32 would differ from that by under an ulp.
            let factor = g.values[o] == Float(norm) ? 1 : Double(g.values[o]) / norm
            for i in 0..<per { w[o * per + i] = Float(Double(v.values[o * per + i]) * factor) }
        }
        return Tensor(shape: v.shape, values: w)
    }

    /// g and v that fold back to exactly `weight`: v is the weight and g its
    /// norm, computed as `folded` computes it, so the factor is exactly 1.
    static func unfolded(_ weight: [Float], shape: [Int]) -> (g: Tensor, v: Tensor) {
        let outputs = shape[0], per = weight.count / max(outputs, 1)
        let g = (0..<outputs).map { Float(channelNorm(weight, channel: $0, per: per)) }
        return (Tensor(shape: [outputs, 1, 1], values: g), Tensor(shape: shape, values: weight))
    }

    private static func channelNorm(_ values: [Float], channel: Int, per: Int) -> Double {
        var sum = 0.0
        for i in 0..<per { let x = Double(values[channel * per + i]); sum += x * x }
        return sum.squareRoot()
    }
}

extension StateDict {
    /// Stores a plain conv under `spec`'s names.
    mutating func put(_ spec: ConvSpec, weight: [Float], bias: [Float]) {
        let t = spec.tensors
        if spec.kind == .weightNormed {
            let (g, v) = WeightNorm.unfolded(weight, shape: t[1].shape)
            set(t[0].name, g)
            set(t[1].name, v)
            set(t[2].name, Tensor(shape: t[2].shape, values: bias))
            return
        }
        set(t[0].name, Tensor(shape: t[0].shape, values: weight))
        set(t[1].name, Tensor(shape: t[1].shape, values: bias))
    }

    /// Stores a gated conv under `spec`'s names.
    mutating func put(_ spec: ConvSpec, _ tensors: GatedConvTensors) {
        let t = spec.tensors
        set(t[0].name, tensors.filter)
        set(t[1].name, tensors.filterBias)
        set(t[2].name, tensors.gate)
        set(t[3].name, tensors.gateBias)
    }
}
