import SequnetCheckpoint

/// What a network takes in at each step.
public enum NetworkInput: Sendable, Equatable, CustomStringConvertible {
    /// One of `classes`, as a one-hot vector: the input conv picks columns.
    case oneHot(classes: Int)
    /// Any subset of `keys`, as a multi-hot vector (a piano roll's frame).
    case multiHot(keys: Int)
    /// A token id, looked up in an embedding of `vocabulary` rows.
    case embedding(vocabulary: Int)

    /// Indices an input is one of, or floats of a multi-hot vector.
    public var width: Int {
        switch self {
        case .oneHot(let n), .multiHot(let n), .embedding(let n): return n
        }
    }

    /// Whether a step's input is a vector (`NetworkState.step(vectors:)`) rather than an index
    /// (a one-hot class or a token looked up in an embedding).
    public var isVector: Bool {
        if case .multiHot = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .oneHot(let classes): return "one of \(classes) classes"
        case .multiHot(let keys): return "any of \(keys) keys"
        case .embedding(let vocabulary): return "one of \(vocabulary) tokens"
        }
    }
}

/// What a network puts out at each step.
public enum NetworkOutput: Sendable, Equatable, CustomStringConvertible {
    /// Logits of one softmax over `classes`.
    case categorical(classes: Int)
    /// One logit per key, each its own sigmoid (independent Bernoulli draws).
    case independentSigmoids(keys: Int)

    /// Floats written per step.
    public var count: Int {
        switch self {
        case .categorical(let classes): return classes
        case .independentSigmoids(let keys): return keys
        }
    }

    public var description: String {
        switch self {
        case .categorical(let classes): return "a softmax over \(classes) classes"
        case .independentSigmoids(let keys): return "\(keys) independent sigmoids"
        }
    }
}

/// The hyper-parameters of one model family, and the family's entry point:
/// how to recognise its checkpoints, read its configuration off the tensors,
/// describe its tensors and build its weights.
///
/// A family lives in one folder, `Models/<Family>/` (configuration, weights,
/// state), and is listed once in `ModelRegistry.families`. `Codable` keys are
/// the reference's names (`kernel_size`), as stored in safetensors metadata.
public protocol ModelConfiguration: Codable, Sendable, CustomStringConvertible {
    /// The family's name in safetensors metadata and architecture specs ("sequnet").
    static var architecture: String { get }
    /// The family's name for people ("Seq-U-Net").
    static var familyName: String { get }
    /// A tensor whose presence marks a PyTorch state dict as this family's.
    static var markerTensor: String { get }
    /// Whether a state dict with these tensor names is this family's
    /// (by default: it holds `markerTensor`).
    static func recognises(tensorNames: Set<String>) -> Bool
    /// Reads the configuration off the tensors' names and shapes. `declared`
    /// holds values the tensors cannot tell (a WaveNet's layers per block), by
    /// their reference names, from the user or the file's metadata.
    static func infer(from dict: StateDict, declared: [String: Int]) throws -> Self
    /// A configuration from `bench --arch` keys (see `ArchitectureSpec`).
    static func parse(_ spec: inout ArchitectureSpec.Values) throws -> Self

    /// Every tensor of the reference's state dict, in its order: the one
    /// description that loading, export and random weights all use.
    var tensors: [TensorSpec] { get }
    /// The integer hyper-parameters by their reference names, for display and metadata.
    var hyperparameters: [(name: String, value: Int)] { get }
    var input: NetworkInput { get }
    var output: NetworkOutput { get }

    /// Steps the reference primes with (its valid-pass input size).
    var inputSize: Int { get }
    /// Receptive field in steps.
    var receptiveField: Int { get }
    /// Zero inputs the reference feeds, from zero state and clock 0, before
    /// a whole sequence of `length` inputs (the plain Seq-U-Net's alignment
    /// of its last input to a tick of every level); 0 for families that
    /// prime from a window instead.
    func prerollSteps(beforeSequenceOf length: Int) -> Int
    /// The clock phase the reference feeds the first of a whole sequence of
    /// `length` inputs at (after any pre-roll): the language-model Seq-U-Net
    /// aligns a window's last input to a tick of every level; 0 elsewhere.
    func sequenceStartPhase(forLength length: Int) -> Int
    /// Distinct clock rates: level i ticks once every 2^i steps.
    var timeScales: Int { get }
    /// Bytes of state `batch` streams hold (ring buffers, vectors, scratch),
    /// known before any is built.
    func streamStateBytes(batch: Int) -> Int

    /// Refuses sizes the engine cannot run (a one-line reason).
    func validate() throws
    /// Builds the weights, taking every tensor of `tensors` from `reader`.
    func makeWeights(_ reader: inout TensorReader) throws -> any NetworkWeights
}

extension ModelConfiguration {
    public static func recognises(tensorNames: Set<String>) -> Bool { tensorNames.contains(markerTensor) }

    public func prerollSteps(beforeSequenceOf length: Int) -> Int { 0 }
    public func sequenceStartPhase(forLength length: Int) -> Int { 0 }

    /// Steps per clock cycle, 2^(timeScales-1): the slowest level ticks once a cycle.
    public var cycles: Int { 1 << (timeScales - 1) }

    /// Number of parameters: every tensor's elements, as the reference counts them.
    /// A tied tensor counts once, as torch's `parameters()` counts it.
    public var parameterCount: Int { tensors.reduce(0) { $0 + ($1.tiedTo == nil ? $1.elementCount : 0) } }

    /// The hyper-parameters as a dictionary of reference names.
    var hyperparameterValues: [String: Int] {
        Dictionary(hyperparameters.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
    }
}

/// A family's weights, rearranged once at load into the layouts its step
/// multiplies directly. Immutable; one set serves any number of states.
public protocol NetworkWeights: AnyObject, Sendable {
    /// The configuration the weights were built for.
    var configuration: any ModelConfiguration { get }
    /// The weights back in the reference's names and layouts (`configuration.tensors`).
    func exportTensors() -> StateDict
    /// A new state for `batch` streams over these weights, stepped together
    /// (zeroed; the stream primes it). Batch 1 is a single stream. With a
    /// `team`, its threads share the rows of every product.
    func makeState(batch: Int, team: RowTeam?) -> any NetworkState
    /// Every matrix product of a clock cycle, with the level whose ticks run it.
    var schedule: [ScheduledProduct] { get }
    /// Weight bytes read per tick, grouped by clock period.
    var weightReads: [WeightReads] { get }
    /// Multiply-adds per step, averaged over a clock cycle.
    var multiplyAddsPerStep: Double { get }
}

extension NetworkState {
    /// Families that take indices (one-hot classes, tokens) have no vector step.
    public func step(vectors: UnsafePointer<Float>) {
        preconditionFailure("\(type(of: self)) takes input indices, not vectors")
    }

    /// Primes from known inputs in one pass instead of `steps` steps: what
    /// `reset(phase: startPhase)` and stepping `inputs` (`steps` per stream,
    /// stream after stream, each in range) would leave. Returns true when
    /// done, false if `shouldStop` (asked between layers) stopped it (the
    /// state is then unusable until primed again), and nil if the family
    /// cannot prefill, having done nothing.
    public func prefill(_ inputs: UnsafePointer<Int>, steps: Int, startPhase: Int, shouldStop: () -> Bool) -> Bool? { nil }

    /// Families without prefill prime by stepping, all streams at once.
    public func prefillStreamLimit(steps: Int) -> Int { 0 }

    /// Families without prefill keep their streams where they are.
    public func copyStreams(from source: any NetworkState, to first: Int) -> Bool { false }
}

extension NetworkWeights {
    /// A state for `batch` streams, computed on the caller's thread alone.
    public func makeState(batch: Int) -> any NetworkState { makeState(batch: batch, team: nil) }
}

/// The caches of a batch of streams over a family's weights: ring buffers,
/// the clock phase they share, and their latest outputs. One step
/// implementation serves any batch width; batch 1 is a single stream.
/// Allocated once; `step` allocates nothing.
public protocol NetworkState: AnyObject {
    /// Streams stepped together.
    var batch: Int { get }
    /// The network's outputs after the last step: `configuration.output.count`
    /// floats per stream, stream after stream.
    var outputs: UnsafeMutablePointer<Float> { get }
    /// The slowest level whose clock ticks at the next step (0 if one rate).
    var nextTickLevel: Int { get }
    /// Bytes of state for the whole batch.
    var stateBytes: Int { get }
    /// Zeroes every cache; the next step is at clock `phase`.
    func reset(phase: Int)
    /// Feeds one input per stream (`batch` indices, see `NetworkInput`) and
    /// computes every stream's outputs.
    func step(_ inputs: UnsafePointer<Int>)
    /// Feeds one dense input vector per stream (`NetworkInput.width` floats
    /// each, stream after stream: a multi-hot family's frames) and computes
    /// every stream's outputs.
    func step(vectors: UnsafePointer<Float>)
    /// Everything later steps depend on, copied out: a primed state that
    /// others of the same weights and batch start from (`restore`).
    func snapshot() -> NetworkStateSnapshot
    /// Makes this state exactly what `snapshot` recorded (a state of the
    /// same weights and batch).
    func restore(_ snapshot: NetworkStateSnapshot)
    /// Primes from known inputs in one pass (see the extension's default, which cannot).
    func prefill(_ inputs: UnsafePointer<Int>, steps: Int, startPhase: Int, shouldStop: () -> Bool) -> Bool?
    /// The most streams whose prefill over `steps` inputs fits in memory at
    /// once (0 if the family cannot prefill): a larger batch is primed that
    /// many streams at a time (`copyStreams`).
    func prefillStreamLimit(steps: Int) -> Int
    /// Makes streams `first..<first + source.batch` of this state exactly
    /// what `source`'s streams are, and the clock (phase, ring slots) what
    /// `source`'s is: `source` holds the same weights, and the streams not
    /// copied must be at the same clock for the state to be usable. Returns
    /// false, changing nothing, if the family cannot.
    func copyStreams(from source: any NetworkState, to first: Int) -> Bool
}

/// A copy of a `NetworkState`: its arena of floats (ring buffers, vectors,
/// outputs) and its integers (clock phase, ring write slots, class windows).
/// Immutable once taken.
public final class NetworkStateSnapshot: @unchecked Sendable {
    let floats: [Float]
    let integers: [Int]
    let batch: Int

    init(floats: [Float], integers: [Int], batch: Int) {
        (self.floats, self.integers, self.batch) = (floats, integers, batch)
    }

    /// Bytes held.
    public var bytes: Int { floats.count * 4 + integers.count * 8 }
}

extension FloatArena {
    /// The arena's floats, for a snapshot.
    var copied: [Float] { buffer.array }

    /// Puts a snapshot's floats back.
    func restore(_ floats: [Float]) {
        precondition(floats.count == buffer.count)
        floats.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: floats.count) }
    }
}

/// One matrix product of a family's step: run whenever the step's slowest
/// ticking level is at least `level`. `matrix` is nil where the engine
/// folds the product away (the replay in `SequnetBench` then uses a stand-in
/// of the reference's shape).
public struct ScheduledProduct: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    public let level: Int
    public let matrix: PackedMatrix?

    public init(_ matrix: PackedMatrix, level: Int) {
        rows = matrix.rows
        columns = matrix.columns
        self.level = level
        self.matrix = matrix
    }

    /// A gated layer: its live rows (the matrix's panels also hold padding).
    public init(_ layer: GatedLayerWeights, level: Int) {
        rows = layer.units * 2 * layer.channels
        columns = layer.columns
        self.level = level
        matrix = layer.matrix
    }

    public init(standInRows rows: Int, columns: Int, level: Int) {
        self.rows = rows
        self.columns = columns
        self.level = level
        matrix = nil
    }
}

/// Weights read together at one clock period: `bytes` once every
/// `periodSamples` steps.
public struct WeightReads: Sendable, Equatable {
    public let periodSamples: Int
    public let bytes: Double

    public init(periodSamples: Int, bytes: Double) {
        self.periodSamples = periodSamples
        self.bytes = bytes
    }

    /// Bytes read per step, averaged over the period.
    public var bytesPerSample: Double { bytes / Double(periodSamples) }
}

/// Every model family the engine knows. Adding a family is its folder under
/// `Models/` and one line here.
public enum ModelRegistry {
    public static let families: [any ModelConfiguration.Type] = [
        SeqUNetConfig.self,
        WaveNetConfig.self,
        PlainSeqUNetConfig.self,
        TCNConfig.self,
    ]

    /// The family named `architecture` in metadata or a spec.
    public static func family(named architecture: String) -> (any ModelConfiguration.Type)? {
        families.first { $0.architecture == architecture.lowercased() }
    }

    /// The family whose tensor names these are.
    public static func family(recognising names: Set<String>) -> (any ModelConfiguration.Type)? {
        families.first { $0.recognises(tensorNames: names) }
    }

    /// "sequnet or wavenet", for messages.
    static var architectureList: String {
        let names = families.map { $0.architecture }
        return names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}
