/**
 * Pure tensor math of post-training: advantages, policy/value losses, KL estimators and controllers, and the
 * DPO / reward-model / SFT losses. Masks are 1 for real action tokens; reductions are masked token-means
 * unless stated. No I/O, no state beyond the controllers' own coefficient.
 */
export { gae, type GaeOptions } from './advantages/gae.ts';
export { whiten, type WhitenOptions } from './advantages/whiten.ts';
export { groupAdvantages, type GroupAdvantageOptions } from './advantages/group.ts';
export { leaveOneOutAdvantages } from './advantages/leave-one-out.ts';
export { reinforcePlusPlusAdvantages } from './advantages/reinforce-plus-plus.ts';
export { discountedSuffixSum } from './advantages/discount-matrix.ts';
export { ppoPolicyLoss, type PpoPolicyLossOptions, type PpoPolicyLossResult } from './losses/ppo-clip.ts';
export { valueLoss, type ValueLossOptions } from './losses/value.ts';
export { dpoLoss, type DpoLossOptions } from './losses/dpo.ts';
export { rewardModelLoss } from './losses/reward-model.ts';
export { sftLoss } from './losses/sft.ts';
export { klPenalty, type KlEstimator } from './kl/penalty.ts';
export { FixedKlController, type KlControllerState } from './kl/fixed-controller.ts';
export { AdaptiveKlController, type AdaptiveKlOptions } from './kl/adaptive-controller.ts';
export { klShapedRewards } from './rewards/kl-shaped-rewards.ts';
export { aggregateLoss, maskedMean, maskedSum, maskedVariance, type Reduction } from './reduce.ts';
export { AlgorithmInputError } from './checks.ts';
export { mean, median } from './statistics.ts';
