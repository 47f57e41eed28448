import SequnetKernels

/// Eight float lanes: the engine's vector for elementwise work outside the
/// kernels (the sampler's softmax, the ragged ends of activations).
typealias Vec8 = SIMD8<Float>

/// `exp` eight lanes at a time: the kernels' (their AVX2 build's lanes are
/// eight wide), so the sampler and the gated activation share one definition.
@inline(__always)
func vexp(_ x: Vec8) -> Vec8 { SequnetKernels.exponential(x) }
