import SequnetCheckpoint

/// The language models' ends around a conv core (SPEC-symbolic.md, "Character
/// and word language models"): `encoder` turns a token into its embedding
/// row, `decoder` turns the core's output into one logit per token. The
/// official models tie the two (`decoder.weight` is `encoder.weight`, and
/// the parameter count counts it once); the engine reads each from its own
/// name, so the layers work untied as well.
final class TokenLayers: @unchecked Sendable {
    /// `[vocabulary, embedding]`, read by row.
    let embedding: FloatBuffer
    let vocabulary: Int
    let width: Int
    /// `[vocabulary, core outputs]`
    let decoder: PackedMatrix
    let decoderBias: FloatBuffer

    static func tensors(vocabulary: Int, embedding: Int, coreOutputs: Int) -> [TensorSpec] {
        [TensorSpec(name: "encoder.weight", shape: [vocabulary, embedding], fanIn: 1),
         TensorSpec(name: "decoder.weight", shape: [vocabulary, coreOutputs], fanIn: coreOutputs, outputAxis: 0, isOutputLayer: true,
                    tiedTo: embedding == coreOutputs ? "encoder.weight" : nil),
         TensorSpec(name: "decoder.bias", shape: [vocabulary], fanIn: coreOutputs)]
    }

    init(vocabulary: Int, embedding width: Int, coreOutputs: Int, reader: inout TensorReader) throws {
        let specs = Self.tensors(vocabulary: vocabulary, embedding: width, coreOutputs: coreOutputs)
        (self.vocabulary, self.width) = (vocabulary, width)
        embedding = FloatBuffer(try reader.take(specs[0]).values)
        decoder = PackedMatrix(rowMajor: try reader.take(specs[1]).values, rows: vocabulary, columns: coreOutputs,
                               precision: reader.precision.forOutputLayer)
        decoderBias = FloatBuffer(try reader.take(specs[2]).values)
    }

    /// `encoder.weight`, which the reference lists first.
    func exportEmbedding(into dict: inout StateDict) {
        dict.set("encoder.weight", Tensor(shape: [vocabulary, width], values: embedding.array))
    }

    /// `decoder.weight` and `decoder.bias`, which the reference lists last.
    func exportDecoder(into dict: inout StateDict) {
        dict.set("decoder.weight", Tensor(shape: [vocabulary, decoder.columns], values: decoder.rowMajor()))
        dict.set("decoder.bias", Tensor(shape: [vocabulary], values: decoderBias.array))
    }

    var kernel: TokenLayersKernel {
        TokenLayersKernel(embedding: UnsafePointer(embedding.pointer), width: width, vocabulary: vocabulary,
                          decoder: decoder.view, decoderBias: UnsafePointer(decoderBias.pointer))
    }

    /// The embedding lookup is a copy, not a product: only the decoder counts.
    var multiplyAdds: Int { decoder.multiplyAdds }
    var weightBytes: Int { decoder.bytesPerProduct + (vocabulary + width) * MemoryLayout<Float>.size }
}

/// `TokenLayers` borrowed for the hot path.
struct TokenLayersKernel {
    let embedding: UnsafePointer<Float>
    let width: Int
    let vocabulary: Int
    let decoder: PackedMatrixView
    let decoderBias: UnsafePointer<Float>

    /// Each stream's token's embedding row, `width` floats apart.
    @inline(__always)
    func embed(_ tokens: UnsafePointer<Int>, batch: Int, into vectors: UnsafeMutablePointer<Float>) {
        for b in 0..<batch { (vectors + b * width).update(from: embedding + tokens[b] * width, count: width) }
    }

    /// `logits[b] = decoderBias + decoder · core[b]`.
    @inline(__always)
    func decode(_ core: UnsafePointer<Float>, coreStride: Int, batch: Int, into logits: UnsafeMutablePointer<Float>, team: RowTeam?) {
        decoder.multiply(core, plus: decoderBias, into: logits, batch: batch, xStride: coreStride, yStride: vocabulary, team: team)
    }
}
