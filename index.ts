/**
 * posttrain: RLHF and post-training in TypeScript. The trainers are the main entry point; the runtime, the sweep
 * API and the pure algorithms are exported for those who build on them.
 */
export * from './trainers/index.ts';
export * as runtime from './runtime/index.ts';
export * as observe from './observe/index.ts';
export * as tune from './tune/index.ts';
export * as algorithms from './algorithms/index.ts';
export { loadPretrained, PretrainedModel } from './models/hf/pretrained.ts';
export { resolveModelSource as downloadModel } from './models/hf/hub.ts';
export { initLlamaFolder, characterTokenizerFiles, TINY_LLAMA, SMOLLM2_135M } from './models/hf/init-model.ts';
export { loadTokenizer, HfTokenizer, HfTokenizerError, type Tokenizer, type ChatMessage, type ChatTemplateOptions } from './data/tokenizers/index.ts';
