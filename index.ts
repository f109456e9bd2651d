/**
 * posttrain: RLHF and post-training in TypeScript. The trainers are the main entry point; the runtime, the sweep
 * API and the pure algorithms are exported for those who build on them.
 */
export * from './trainers/index.ts';
export * as runtime from './runtime/index.ts';
export * as observe from './observe/index.ts';
export * as tune from './tune/index.ts';
export * as algorithms from './algorithms/index.ts';
