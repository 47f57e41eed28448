import COpenBLAS
import Foundation
import SequnetCheckpoint

/// A loaded model: configuration plus immutable weights, for either
/// architecture. One `Model` serves any number of independent `StreamState`s.
public final class Model: @unchecked Sendable {
    enum Weights {
        case seqUNet(SeqUNetWeights)
        case waveNet(WaveNetWeights)
    }

    let weights: Weights
    public let config: ModelConfig

    /// Audio rate the models are trained at.
    public let sampleRate = 16_000

    public init(_ weights: SeqUNetWeights) {
        self.weights = .seqUNet(weights)
        config = .seqUNet(weights.config)
    }

    public init(_ weights: WaveNetWeights) {
        self.weights = .waveNet(weights)
        config = .waveNet(weights.config)
    }

    /// Builds a model from a state dict. The architecture comes from the
    /// safetensors metadata when present, else from the tensor names.
    /// `waveNetLayersPerBlock` splits a WaveNet's layers into blocks.
    public convenience init(stateDict: StateDict, waveNetLayersPerBlock: Int? = nil) throws {
        let declared = stateDict.metadata["sequnet.architecture"]
        if declared == "sequnet" || (declared == nil && stateDict.tensors["input_conv.weight"] != nil) {
            if let json = stateDict.metadata["sequnet.config"], let data = json.data(using: .utf8),
               let config = try? JSONDecoder().decode(SeqUNetConfig.self, from: data) {
                self.init(try SeqUNetWeights(config: config, stateDict: stateDict))
            } else {
                self.init(try SeqUNetWeights(stateDict: stateDict))
            }
        } else if declared == "wavenet" || (declared == nil && stateDict.tensors["start_conv.weight"] != nil) {
            self.init(try WaveNetWeights(stateDict: stateDict, layersPerBlock: waveNetLayersPerBlock))
        } else if let declared {
            throw ModelLoadError.unknownArchitecture("metadata names architecture '\(declared)'")
        } else {
            throw ModelLoadError.unknownArchitecture(
                "no 'input_conv.weight' (Seq-U-Net) or 'start_conv.weight' (WaveNet) tensor")
        }
    }

    /// Reads a checkpoint file (torch zip, torch legacy or safetensors) and builds the model.
    public convenience init(contentsOf path: String, waveNetLayersPerBlock: Int? = nil) throws {
        try self.init(stateDict: readCheckpoint(atPath: path), waveNetLayersPerBlock: waveNetLayersPerBlock)
    }

    /// A new, independent stream over these weights, primed with silence.
    public func makeStream() -> StreamState { StreamState(model: self) }

    /// The weights in the reference's state-dict names, with metadata that
    /// records the architecture (including WaveNet's layers per block).
    public func exportStateDict() -> StateDict {
        var dict: StateDict
        let configJSON: Data
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        switch weights {
        case .seqUNet(let w):
            dict = w.stateDict()
            configJSON = (try? encoder.encode(w.config)) ?? Data()
        case .waveNet(let w):
            dict = w.stateDict()
            configJSON = (try? encoder.encode(w.config)) ?? Data()
            dict.metadata["wavenet.layers_per_block"] = String(w.config.layersPerBlock)
        }
        dict.metadata["sequnet.architecture"] = config.architectureName
        dict.metadata["sequnet.config"] = String(decoding: configJSON, as: UTF8.self)
        dict.metadata["sequnet.input_size"] = String(config.inputSize)
        dict.metadata["format"] = "pt"
        return dict
    }

    public var parameterCount: Int {
        switch weights {
        case .seqUNet(let w): return w.parameterCount
        case .waveNet(let w): return w.parameterCount
        }
    }

    /// Multiply-adds per generated sample (averaged over a clock cycle).
    public var multiplyAddsPerSample: Double {
        switch weights {
        case .seqUNet(let w): return w.multiplyAddsPerSample
        case .waveNet(let w): return w.multiplyAddsPerSample
        }
    }

    /// Bytes of weights read per generated sample (averaged over a clock cycle).
    public var weightBytesPerSample: Double {
        switch weights {
        case .seqUNet(let w): return w.weightBytesPerSample
        case .waveNet(let w): return w.weightBytesPerSample
        }
    }

    /// Weight bytes read per tick, by clock period: the input to a cache
    /// model of what bounds a step (see `sequnet bench`).
    public var weightReads: [WeightReads] {
        switch weights {
        case .seqUNet(let w): return w.weightReads
        case .waveNet(let w): return w.weightReads
        }
    }

    /// Total bytes of weights held.
    public var weightBytes: Int { parameterCount * MemoryLayout<Float>.size }
}

/// Pins OpenBLAS to `threads` threads. Batch-1 matrix-vector products are too
/// small to split, and one thread keeps results bit-identical run to run.
public func setBLASThreads(_ threads: Int) {
    openblas_set_num_threads(Int32(max(1, threads)))
}

/// Weights read together at one clock period: `bytes` once every
/// `periodSamples` samples.
public struct WeightReads: Sendable, Equatable {
    public let periodSamples: Int
    public let bytes: Double

    /// Bytes read per sample, averaged over the period.
    public var bytesPerSample: Double { bytes / Double(periodSamples) }
}
