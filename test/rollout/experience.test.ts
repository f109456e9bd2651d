import { describe, expect, it } from 'vitest';
import { experienceFromGeneration, selectExperienceRows } from '../../rollout/index.ts';
import type { Generation } from '../../rollout/index.ts';

const generation: Generation = {
  batchSize: 2,
  promptLength: 2,
  responseLength: 3,
  sequences: Int32Array.from([5, 6, 7, 8, 1, 0, 9, 2, 1, 0]),
  attentionMask: Int32Array.from([1, 1, 1, 1, 1, 0, 1, 1, 1, 0]),
  actionMask: Float32Array.from([1, 1, 1, 1, 1, 0]),
  logProbs: Float32Array.from([-1, -2, -3, -4, -5, 0]),
  samplingLogProbs: Float32Array.from([-1, -2, -3, -4, -5, 0]),
  responseLengths: Int32Array.from([3, 2]),
};

describe('experience batch', () => {
  it('selecting rows copies every present field, sequence-level and per-token', () => {
    const experience = { ...experienceFromGeneration(generation, { weightVersion: 4, weightChecksum: 'abc' }), scores: Float32Array.from([0.5, -0.5]) };
    experience.values = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    const swapped = selectExperienceRows(experience, [1, 0]);
    expect(Array.from(swapped.sequences)).toEqual([0, 9, 2, 1, 0, 5, 6, 7, 8, 1]);
    expect(Array.from(swapped.logProbs)).toEqual([-4, -5, 0, -1, -2, -3]);
    expect(Array.from(swapped.values!)).toEqual([0.4, 0.5, 0.6, 0.1, 0.2, 0.3].map(Math.fround));
    expect(Array.from(swapped.scores!)).toEqual([-0.5, 0.5]);
    expect(swapped.weightVersion).toBe(4);
    expect(swapped.referenceLogProbs).toBeUndefined();
  });
});
