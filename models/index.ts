/** The tensor engine, the GPT and Hugging Face decoders and their heads, flat weights and the optimizer. */
export { initEngine, engineChoice, type EngineOptions, type EngineChoice, type BackendName } from './engine.ts';
export { describeAdapter, type WebGpuAdapter } from './webgpu-device.ts';
export { GPT, positionIds, parameterShapes, initializeParameters, type HeadKind, type TokenBatch, type GPTOptions } from './gpt.ts';
export { BENCH_S, validateGPTConfig, type GPTConfig } from './gpt-config.ts';
export { KVCache } from './kv-cache.ts';
export { FlatParameters, checksum, type ParameterEntry, type ParameterManifest } from './flat-parameters.ts';
export { Adam, type AdamOptions, type AdamState, type AdamStepResult } from './adam.ts';
export { computeGradients, computeGradientsAsync, type GradientResult, type LossOutput } from './compute-gradients.ts';
export { Rng } from './rng.ts';
export { setFusedKernels, hostKernelsAvailable } from './kernels/host-kernel.ts';
export type { CausalModel, CausalModelShape } from './causal-model.ts';
export { createModel, exportModel, tokenizerOf, type ModelSpec, type ExportedModel } from './model-spec.ts';
export { HfDecoder, generatePositionIds, type DecoderBatch, type DecoderOptions } from './hf/decoder.ts';
export { parseHfConfig, SUPPORTED_ARCHITECTURES, type DecoderSpec, type RopeSpec } from './hf/hf-config.ts';
export { loadPretrained, PretrainedModel, type ForwardInputs, type SaveOptions } from './hf/pretrained.ts';
export { setBlasMatMul, blasMatMulActive } from './kernels/blas/blas-matmul.ts';
export { setNativeCpuKernels } from './kernels/native-cpu-kernels.ts';
export { tokenLogProbs, composedTokenLogProbs, type TokenLogProbs, type TokenLogProbsOptions } from './kernels/token-log-probs.ts';
