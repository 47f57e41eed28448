import SequnetCheckpoint

/// Why a state dict could not become a model. Each renders as one line.
public enum ModelLoadError: Error, CustomStringConvertible, Equatable {
    case missingTensor(String)
    case unexpectedTensors([String])
    case wrongShape(name: String, expected: [Int], actual: [Int])
    case nonFinite(name: String, index: Int)
    case unknownArchitecture(String)
    case invalidHyperParameter(String)

    public var description: String {
        switch self {
        case .missingTensor(let name):
            return "missing tensor '\(name)'"
        case .unexpectedTensors(let names):
            let shown = names.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            return "unexpected tensor\(names.count > 1 ? "s" : "") \(shown)\(names.count > 5 ? " and \(names.count - 5) more" : "")"
        case .wrongShape(let name, let expected, let actual):
            return "tensor '\(name)' has shape \(actual), expected \(expected)"
        case .nonFinite(let name, let index):
            return "tensor '\(name)' holds a NaN or infinite value (element \(index))"
        case .unknownArchitecture(let what):
            return "not a Seq-U-Net or WaveNet checkpoint: \(what)"
        case .invalidHyperParameter(let what):
            return "invalid hyper-parameters: \(what)"
        }
    }
}

/// Hands out a state dict's tensors by name with shape checks, and at the end
/// reports any tensor nobody asked for: loading is strict both ways.
struct TensorReader {
    let dict: StateDict
    private(set) var used = Set<String>()

    init(_ dict: StateDict) { self.dict = dict }

    /// The tensor `name`, which must have exactly `shape` and only finite values.
    mutating func take(_ name: String, shape: [Int]) throws -> Tensor {
        guard let tensor = dict.tensors[name] else { throw ModelLoadError.missingTensor(name) }
        guard tensor.shape == shape else {
            throw ModelLoadError.wrongShape(name: name, expected: shape, actual: tensor.shape)
        }
        if let bad = tensor.values.firstIndex(where: { !$0.isFinite }) {
            throw ModelLoadError.nonFinite(name: name, index: bad)
        }
        used.insert(name)
        return tensor
    }

    /// The shape of `name` if present, without taking it.
    func shape(of name: String) -> [Int]? { dict.tensors[name]?.shape }

    func has(_ name: String) -> Bool { dict.tensors[name] != nil }

    /// Throws if any tensor was not taken.
    func finish() throws {
        let extra = dict.names.filter { !used.contains($0) }
        if !extra.isEmpty { throw ModelLoadError.unexpectedTensors(extra) }
    }
}
