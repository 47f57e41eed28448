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
    /// The precision the weight matrices are stored and read in.
    public let precision: MatrixPrecision
    /// The file's metadata (safetensors `__metadata__`), empty for torch files.
    public private(set) var fileMetadata: [String: String] = [:]
    /// For a whole pickled module (what the official scripts save), each
    /// module's class as the pickle names it, by path ("" the top one).
    public private(set) var moduleClasses: [String: String] = [:]
    /// States primed from silence, by batch size (see `SilencePrimedStates`).
    let silencePrimed = SilencePrimedStates()

    /// The family's configuration.
    public var config: any ModelConfiguration { weights.configuration }

    /// A model over `weights`, with the codec their inputs and outputs call for.
    public init(weights: any NetworkWeights, precision: MatrixPrecision = .fp32, sourceFormat: CheckpointFormat? = nil,
                metadata: [String: String] = [:]) throws {
        self.weights = weights
        self.precision = precision
        codec = try Codecs.codec(for: weights.configuration, metadata: metadata)
        fileMetadata = metadata
        self.sourceFormat = sourceFormat
    }

    /// Builds the weights of `config` from a state dict, strictly: every
    /// tensor of the family's description must be there with its exact
    /// shape and finite values, and nothing else may be. The weight
    /// matrices are rounded to `precision` (see `TensorReader`).
    public convenience init(config: any ModelConfiguration, stateDict: StateDict, precision: MatrixPrecision = .fp32) throws {
        try config.validate()
        var reader = TensorReader(stateDict, precision: precision)
        try self.init(weights: try config.makeWeights(&reader), precision: precision, sourceFormat: stateDict.format,
                      metadata: stateDict.metadata)
        moduleClasses = stateDict.moduleClasses
    }

    /// Seconds one step of a piano-roll model lasts when played, as
    /// `convert --step-duration` recorded it for the model's data set (nil if not recorded).
    public var stepDuration: Double? {
        fileMetadata[ModelMetadata.stepDurationKey].flatMap(Double.init).flatMap { $0 > 0 && $0.isFinite ? $0 : nil }
    }

    /// Builds a model from a state dict. The family comes from the tensor
    /// names (checked against the metadata's architecture, if any), the
    /// configuration from the tensors' shapes; every metadata field must
    /// agree with them. `hyperparameters` gives values the tensors cannot
    /// tell, by reference name (a WaveNet's `layers_per_block`); they take
    /// precedence over the file's metadata.
    /// `precision` nil means the precision the file was converted to
    /// (`sequnet.precision` in its metadata), else fp32.
    public convenience init(stateDict: StateDict, hyperparameters: [String: Int] = [:],
                            precision: MatrixPrecision? = nil) throws {
        let family = try ModelMetadata.family(of: stateDict)
        let stated = try ModelMetadata.statedValues(in: stateDict.metadata)
        // The file must agree with itself: its metadata against the model its
        // own values make of the tensors. Then the user's values, if any, win.
        let asTheFileSays = hyperparameters.merging(stated) { _, stated in stated }
        let fileConfig = try family.infer(from: stateDict, declared: asTheFileSays)
        try ModelMetadata.check(fileConfig, stated: stated, metadata: stateDict.metadata)
        let declared = stated.merging(hyperparameters) { _, given in given }
        let config = declared == asTheFileSays ? fileConfig : try family.infer(from: stateDict, declared: declared)
        let stored = stateDict.metadata[ModelMetadata.precisionKey]
        guard let precision = precision ?? (stored == nil ? .fp32 : MatrixPrecision(named: stored!)) else {
            throw ModelLoadError.invalidMetadata("'\(ModelMetadata.precisionKey)' is '\(stored!)', not one of \(MatrixPrecision.names)")
        }
        try self.init(config: config, stateDict: stateDict, precision: precision)
    }

    /// Reads a checkpoint file (torch zip, torch legacy or safetensors) and
    /// builds the model in `precision` (any checkpoint works in any precision).
    /// Model errors name the file (`ModelLoadError.inFile`).
    public convenience init(contentsOf path: String, hyperparameters: [String: Int] = [:],
                            precision: MatrixPrecision? = nil) throws {
        let dict = try readCheckpoint(atPath: path)
        do {
            try self.init(stateDict: dict, hyperparameters: hyperparameters, precision: precision)
        } catch let error as ModelLoadError {
            throw ModelLoadError.inFile(path: path, error)
        }
    }

    /// A new, independent stream over these weights, primed as from silence,
    /// each step computed by `threads` threads.
    public func makeStream(threads: Int = 1) -> StreamState { StreamState(model: self, threads: threads) }

    /// A new stream primed with `prompt` (empty: as from silence), or nil if
    /// `shouldStop` (asked every 1,024 priming steps) said to stop first.
    public func makeStream<C: Collection>(prompt: C, threads: Int = 1, shouldStop: () -> Bool) -> StreamState?
    where C.Element: BinaryInteger {
        let stream = StreamState(model: self, threads: threads, primed: false)
        return stream.prime(with: prompt, shouldStop: shouldStop) ? stream : nil
    }

    /// `count` streams stepped together (see `StreamBatch`), zeroed: prime
    /// them before reading logits. Each step is computed by `threads` threads.
    public func makeBatch(count: Int, threads: Int = 1) -> StreamBatch {
        StreamBatch(model: self, count: count, threads: threads)
    }

    /// The weights in the reference's state-dict names, float32, with
    /// metadata that records the architecture and every hyper-parameter.
    public func exportStateDict() -> StateDict {
        var dict = weights.exportTensors()
        dict.metadata.merge(ModelMetadata.entries(for: config)) { _, new in new }
        return dict
    }

    /// What `sequnet convert` writes: `source` checked by building a model
    /// of it, then its tensors under the reference names with sequnet's
    /// metadata, the matrix weights stored in `precision` (bf16, or int8
    /// codes with one float32 scale per output channel, `NAME_scale`). That
    /// is the rounding a load in `precision` applies first, so the file
    /// loads into the same model as the original loaded in `precision`, and
    /// converting a converted file again changes nothing. (The packed
    /// matrices then take one scale per packed row. Where a row is one
    /// output channel the codes stay the same; the upsampling layer's rows
    /// hold half of a channel's taps and WaveNet's combined skip matrix joins
    /// every layer's channel, so there the codes are rounded again to the
    /// row's own scale: within one step of the original weight, and the
    /// same on every load.)
    public static func convertedStateDict(_ source: StateDict, hyperparameters: [String: Int] = [:],
                                          precision: MatrixPrecision) throws -> StateDict {
        let model = try Model(stateDict: source, hyperparameters: hyperparameters, precision: .fp32)
        var dict = model.exportStateDict()
        for spec in model.config.tensors {
            guard let axis = spec.outputAxis, let tensor = source.tensors[spec.name] else { continue }
            let stored = spec.storedPrecision(precision)
            dict.tensors[spec.name] = stored == .fp32 ? Tensor(shape: tensor.shape, values: tensor.values)
                                                      : Quantisation.quantised(tensor, to: stored, axis: axis)
        }
        if precision != .fp32 { dict.metadata[ModelMetadata.precisionKey] = precision.rawValue }
        // What the weights do not say (a data set's step duration, a vocabulary) is carried over.
        for key in [ModelMetadata.stepDurationKey, Codecs.vocabularyKey, Codecs.tokenLevelKey] {
            if let value = source.metadata[key] { dict.metadata[key] = value }
        }
        return dict
    }

    // MARK: Cost

    public var parameterCount: Int { config.parameterCount }

    /// Total bytes of weights at the model's precision: the matrices in it
    /// (with int8's scales), biases and lookup tables in float32.
    public var weightBytes: Int {
        config.tensors.reduce(0) { total, spec in
            let stored = spec.storedPrecision(precision)
            guard let axis = spec.outputAxis, stored != .fp32 else { return total + spec.elementCount * 4 }
            return total + spec.elementCount * stored.elementBytes + (stored == .int8 ? spec.shape[axis] * 4 : 0)
        }
    }

    /// Multiply-adds per generated step (averaged over a clock cycle).
    public var multiplyAddsPerSample: Double { weights.multiplyAddsPerStep }

    /// Weight bytes read per tick, by clock period: the input to a cache
    /// model of what bounds a step (see `sequnet bench`).
    public var weightReads: [WeightReads] { weights.weightReads }

    /// Bytes of weights read per generated step (averaged over a clock cycle).
    public var weightBytesPerSample: Double { weightReads.reduce(0) { $0 + $1.bytesPerSample } }
}

/// Priming from silence feeds a model's whole input size (32,761 steps for
/// the paper's Seq-U-Net), and always leaves the same state: so it is done
/// once per model and batch size, and later batches copy it. A few batch
/// sizes are kept (a server's listeners come and go in batches of a few sizes).
final class SilencePrimedStates: @unchecked Sendable {
    private let lock = NSLock()
    private var states: [Int: NetworkStateSnapshot] = [:]
    /// Batch sizes kept; the oldest goes first.
    private var order: [Int] = []
    static let capacity = 4

    func state(batch: Int) -> NetworkStateSnapshot? {
        lock.lock(); defer { lock.unlock() }
        return states[batch]
    }

    func keep(_ snapshot: NetworkStateSnapshot) {
        lock.lock(); defer { lock.unlock() }
        if states[snapshot.batch] == nil {
            order.append(snapshot.batch)
            if order.count > Self.capacity { states[order.removeFirst()] = nil }
        }
        states[snapshot.batch] = snapshot
    }
}
