import Foundation
import SequnetCheckpoint

/// A loaded model of any family: its weights (and through them its
/// configuration) and the codec that speaks its inputs and outputs. One
/// `Model` serves any number of independent `StreamState`s.
public final class Model: @unchecked Sendable {
    /// The family's weights, immutable.
    public let weights: any NetworkWeights
    /// Turns the network's inputs and outputs into data (mu-law audio, ...).
    public let codec: any Codec
    /// The checkpoint format the weights were read from, if they came from a file.
    public let sourceFormat: CheckpointFormat?

    /// The family's configuration.
    public var config: any ModelConfiguration { weights.configuration }

    /// A model over `weights`, with the codec their inputs and outputs call for.
    public init(weights: any NetworkWeights, sourceFormat: CheckpointFormat? = nil) throws {
        self.weights = weights
        codec = try Codecs.codec(for: weights.configuration)
        self.sourceFormat = sourceFormat
    }

    /// Builds the weights of `config` from a state dict, strictly: every
    /// tensor of the family's description must be there with its exact
    /// shape and finite values, and nothing else may be.
    public convenience init(config: any ModelConfiguration, stateDict: StateDict) throws {
        try config.validate()
        var reader = TensorReader(stateDict)
        try self.init(weights: try config.makeWeights(&reader), sourceFormat: stateDict.format)
    }

    /// Builds a model from a state dict. The family comes from the tensor
    /// names (checked against the metadata's architecture, if any), the
    /// configuration from the tensors' shapes; every metadata field must
    /// agree with them. `hyperparameters` gives values the tensors cannot
    /// tell, by reference name (a WaveNet's `layers_per_block`); they take
    /// precedence over the file's metadata.
    public convenience init(stateDict: StateDict, hyperparameters: [String: Int] = [:]) throws {
        let family = try ModelMetadata.family(of: stateDict)
        let stated = try ModelMetadata.statedValues(in: stateDict.metadata)
        // The file must agree with itself: its metadata against the model its
        // own values make of the tensors. Then the user's values, if any, win.
        let asTheFileSays = hyperparameters.merging(stated) { _, stated in stated }
        let fileConfig = try family.infer(from: stateDict, declared: asTheFileSays)
        try ModelMetadata.check(fileConfig, stated: stated, metadata: stateDict.metadata)
        let declared = stated.merging(hyperparameters) { _, given in given }
        let config = declared == asTheFileSays ? fileConfig : try family.infer(from: stateDict, declared: declared)
        try self.init(config: config, stateDict: stateDict)
    }

    /// Reads a checkpoint file (torch zip, torch legacy or safetensors) and
    /// builds the model. Model errors name the file (`ModelLoadError.inFile`).
    public convenience init(contentsOf path: String, hyperparameters: [String: Int] = [:]) throws {
        let dict = try readCheckpoint(atPath: path)
        do {
            try self.init(stateDict: dict, hyperparameters: hyperparameters)
        } catch let error as ModelLoadError {
            throw ModelLoadError.inFile(path: path, error)
        }
    }

    /// A new, independent stream over these weights, primed as from silence.
    public func makeStream() -> StreamState { StreamState(model: self) }

    /// A new stream primed with `prompt` (empty: as from silence), or nil if
    /// `shouldStop` (asked every 1,024 priming steps) said to stop first.
    public func makeStream<C: Collection>(prompt: C, shouldStop: () -> Bool) -> StreamState?
    where C.Element: BinaryInteger {
        let stream = StreamState(model: self, primed: false)
        return stream.prime(with: prompt, shouldStop: shouldStop) ? stream : nil
    }

    /// The weights in the reference's state-dict names, with metadata that
    /// records the architecture and every hyper-parameter.
    public func exportStateDict() -> StateDict {
        var dict = weights.exportTensors()
        dict.metadata.merge(ModelMetadata.entries(for: config)) { _, new in new }
        return dict
    }

    // MARK: Cost

    /// The precision the weights are stored in.
    public var precision: MatrixPrecision { .fp32 }

    public var parameterCount: Int { config.parameterCount }

    /// Total bytes of weights held, at the model's precision.
    public var weightBytes: Int { parameterCount * precision.elementBytes }

    /// Multiply-adds per generated step (averaged over a clock cycle).
    public var multiplyAddsPerSample: Double { weights.multiplyAddsPerStep }

    /// Weight bytes read per tick, by clock period: the input to a cache
    /// model of what bounds a step (see `sequnet bench`).
    public var weightReads: [WeightReads] { weights.weightReads }

    /// Bytes of weights read per generated step (averaged over a clock cycle).
    public var weightBytesPerSample: Double { weightReads.reduce(0) { $0 + $1.bytesPerSample } }
}
