/// Hyper-parameters of a residual Seq-U-Net, as read off its state dict.
///
/// The paper's audio model is `features: 180, levels: 11, depth: 2, kernelSize: 5`.
public struct SeqUNetConfig: Codable, Sendable, Equatable {
    /// Number of mu-law classes (input one-hot size and output logits).
    public var classes: Int
    /// Feature channels C at every level.
    public var features: Int
    /// Number of time scales L; level i runs at 1/2^i of the sample rate.
    public var levels: Int
    /// Residual convolutions per block D.
    public var depth: Int
    /// Odd kernel size K of every convolution.
    public var kernelSize: Int

    public init(classes: Int = 256, features: Int, levels: Int, depth: Int, kernelSize: Int) {
        self.classes = classes
        self.features = features
        self.levels = levels
        self.depth = depth
        self.kernelSize = kernelSize
    }

    /// Samples per full clock cycle, 2^(L-1): the coarsest level ticks once per cycle.
    public var cycles: Int { 1 << (levels - 1) }

    /// The reference's valid-pass input size for one cycle of outputs.
    ///
    /// Walks the network backwards from `cycles` outputs the way the reference
    /// sizes its valid convolutions: a conv adds K-1 inputs, a stride-2 conv
    /// needs (o-1)*2+1 positions first, and a transposed stride-2 conv needs
    /// ceil(o/2) inputs after adding K-1. Priming keeps this many samples.
    public var inputSize: Int {
        let k = kernelSize
        var size = cycles
        for _ in 0..<(levels - 1) {           // up blocks, level 0 upwards
            size += depth * (k - 1)
            size = (size + k - 1 + 1) / 2      // ceil((size + k - 1) / 2)
        }
        size += depth * (k - 1)                // bottleneck
        for _ in 0..<(levels - 1) {            // down blocks, deepest first
            size = (size - 1) * 2 + 1 + (k - 1)
            size += depth * (k - 1)
        }
        return size + k - 1                    // input conv
    }

    /// Receptive field in samples: the paper reports the valid-pass input
    /// size (32 761 for its audio model), so the two are the same number.
    public var receptiveField: Int { inputSize }
}

/// Hyper-parameters of the paper's WaveNet baseline (kernel 2, all convs with bias).
public struct WaveNetConfig: Codable, Sendable, Equatable {
    public var classes: Int
    /// Layers per block; layer l has dilation 2^(l mod layersPerBlock).
    public var layersPerBlock: Int
    public var blocks: Int
    /// Residual channels R.
    public var residualChannels: Int
    /// Dilation (gated) channels Dc.
    public var dilationChannels: Int
    /// Skip channels S.
    public var skipChannels: Int
    /// Always 2 in the reference.
    public var kernelSize: Int

    public init(classes: Int = 256, layersPerBlock: Int, blocks: Int, residualChannels: Int,
                dilationChannels: Int, skipChannels: Int, kernelSize: Int = 2) {
        self.classes = classes
        self.layersPerBlock = layersPerBlock
        self.blocks = blocks
        self.residualChannels = residualChannels
        self.dilationChannels = dilationChannels
        self.skipChannels = skipChannels
        self.kernelSize = kernelSize
    }

    public var layerCount: Int { layersPerBlock * blocks }

    /// The largest per-stream history a loaded WaveNet may ask for (1 GiB).
    public static let maxStreamStateBytes = 1 << 30

    /// Dilation of layer `l`.
    public func dilation(ofLayer l: Int) -> Int { 1 << (l % layersPerBlock) }

    /// `1 + sum (K-1)*d`: the reference's input size for one output.
    public var receptiveField: Int {
        (0..<layerCount).reduce(1) { $0 + (kernelSize - 1) * dilation(ofLayer: $1) }
    }

    public var inputSize: Int { receptiveField }
}

/// Either architecture, for code that handles both.
public enum ModelConfig: Sendable, Equatable {
    case seqUNet(SeqUNetConfig)
    case waveNet(WaveNetConfig)

    /// "sequnet" or "wavenet", as stored in safetensors metadata.
    public var architectureName: String {
        switch self {
        case .seqUNet: return "sequnet"
        case .waveNet: return "wavenet"
        }
    }

    public var classes: Int {
        switch self {
        case .seqUNet(let c): return c.classes
        case .waveNet(let c): return c.classes
        }
    }

    /// Samples the reference keeps when priming from a prompt.
    public var inputSize: Int {
        switch self {
        case .seqUNet(let c): return c.inputSize
        case .waveNet(let c): return c.inputSize
        }
    }

    public var receptiveField: Int {
        switch self {
        case .seqUNet(let c): return c.receptiveField
        case .waveNet(let c): return c.receptiveField
        }
    }

    /// Number of distinct time scales (clock rates) in the network.
    public var timeScales: Int {
        switch self {
        case .seqUNet(let c): return c.levels
        case .waveNet: return 1
        }
    }

    /// Samples per clock cycle (1 for WaveNet).
    public var cycles: Int {
        switch self {
        case .seqUNet(let c): return c.cycles
        case .waveNet: return 1
        }
    }
}
