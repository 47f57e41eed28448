/// Why a state dict could not become a model. Each renders as one line.
public enum ModelLoadError: Error, CustomStringConvertible, Equatable {
    case missingTensor(String)
    case unexpectedTensors([String])
    case wrongShape(name: String, expected: [Int], actual: [Int])
    /// A tensor whose number of dimensions is wrong, before its sizes can be read.
    case wrongRank(name: String, actual: [Int], expected: String)
    case nonFinite(name: String, index: Int)
    case unknownArchitecture(String)
    case invalidHyperParameter(String)
    /// A metadata field says `metadata` where the tensors say `tensors`.
    case metadataContradicts(field: String, metadata: String, tensors: String)
    /// The metadata cannot be read as sequnet metadata.
    case invalidMetadata(String)
    /// No codec handles the network's inputs and outputs.
    case noCodec(String)
    /// A stream would cost more than the `StreamBudget` allows.
    case overBudget(String)
    /// Any of the above, in the named file.
    indirect case inFile(path: String, ModelLoadError)

    public var description: String {
        switch self {
        case .missingTensor(let name):
            return "missing tensor '\(name)'"
        case .unexpectedTensors(let names):
            let shown = names.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            return "unexpected tensor\(names.count > 1 ? "s" : "") \(shown)\(names.count > 5 ? " and \(names.count - 5) more" : "")"
        case .wrongShape(let name, let expected, let actual):
            return "tensor '\(name)' has shape \(actual), expected \(expected)"
        case .wrongRank(let name, let actual, let expected):
            return "tensor '\(name)' has shape \(actual), expected \(expected)"
        case .nonFinite(let name, let index):
            return "tensor '\(name)' holds a NaN or infinite value (element \(index))"
        case .unknownArchitecture(let what):
            let families = ModelRegistry.families.map { $0.familyName }
            let list = families.count <= 1 ? families.joined()
                : families.dropLast().joined(separator: ", ") + " or " + families.last!
            return "not a \(list) checkpoint: \(what)"
        case .invalidHyperParameter(let what):
            return "invalid hyper-parameters: \(what)"
        case .metadataContradicts(let field, let metadata, let tensors):
            return "metadata says \(field) \(metadata), but the tensors say \(tensors)"
        case .invalidMetadata(let what):
            return "invalid metadata: \(what)"
        case .noCodec(let what):
            return "no codec for this model: \(what)"
        case .overBudget(let what):
            return "model too large to stream here: \(what)"
        case .inFile(let path, let error):
            return "\(path): \(error)"
        }
    }
}
