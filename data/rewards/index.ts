/** Reward functions: the contract users write to, and the built-ins for common cases. */
export { lengthPenalty } from './length-penalty.ts';
export { extractNumericAnswer, numericAnswerMatch } from './numeric-answer.ts';
export { regexFormat } from './regex-format.ts';
export type { RewardContext, RewardFunction } from './reward-function.ts';
