/** Generation, the experience contract and sequence scoring. */
export { generate, type GenerateOptions, type Generation } from './generate.ts';
export { sampleToken, argmax, tokenLogProb, validateSamplingOptions, type SamplingOptions, type SampledToken } from './sampling.ts';
export { type ExperienceBatch, experienceFromGeneration, selectExperienceRows, PER_TOKEN_FIELDS } from './experience.ts';
export { actionLogProbs, actionValues, sequenceScores, scoreInChunks, sliceRows, selectRows, type SequenceBatch } from './log-probs.ts';
