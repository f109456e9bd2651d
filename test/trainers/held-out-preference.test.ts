/** DPO's held-out measure on hand-written log-probs: the implicit reward beta * log(pi / pi_ref) of each side. */
import { describe, expect, it } from 'vitest';
import { heldOutPreference } from '../../trainers/dpo-trainer.ts';

describe('heldOutPreference', () => {
  it('counts a pair as right when the chosen side gains more log-probability over the reference, and averages the gap', () => {
    const policy = { chosen: Float32Array.of(-3, -6, -4), rejected: Float32Array.of(-5, -4, -4) };
    const reference = { chosen: Float32Array.of(-4, -5, -4), rejected: Float32Array.of(-4, -5, -4) };
    // gaps: 0.5 * ((1) - (-1)) = 1; 0.5 * ((-1) - (1)) = -1; 0.5 * (0 - 0) = 0 (a tie is not right)
    const result = heldOutPreference(policy, reference, 0.5);
    expect(result.preferenceAccuracy).toBeCloseTo(1 / 3, 6);
    expect(result.rewardMargin).toBeCloseTo(0, 6);
  });

  it('gives accuracy 0 and margin 0 when the policy is the reference', () => {
    const same = { chosen: Float32Array.of(-1, -2), rejected: Float32Array.of(-3, -4) };
    expect(heldOutPreference(same, same, 0.1)).toEqual({ preferenceAccuracy: 0, rewardMargin: 0 });
  });
});
