/** The tensor engine, the GPT decoder and its heads, flat weights and the optimizer. */
export { initEngine, engineChoice, type EngineOptions, type EngineChoice, type BackendName } from './engine.ts';
export { GPT, positionIds, parameterShapes, initializeParameters, type HeadKind, type TokenBatch, type GPTOptions } from './gpt.ts';
export { BENCH_S, validateGPTConfig, type GPTConfig } from './gpt-config.ts';
export { KVCache } from './kv-cache.ts';
export { FlatParameters, checksum, type ParameterEntry, type ParameterManifest } from './flat-parameters.ts';
export { Adam, type AdamOptions, type AdamState, type AdamStepResult } from './adam.ts';
export { computeGradients, type GradientResult, type LossOutput } from './compute-gradients.ts';
export { Rng } from './rng.ts';
export { setFusedKernels, hostKernelsAvailable } from './kernels/host-kernel.ts';
export { setBlasMatMul, blasMatMulActive } from './kernels/blas/blas-matmul.ts';
