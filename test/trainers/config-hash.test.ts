import { describe, expect, it } from 'vitest';
import { configHash } from '../../trainers/config-hash.ts';
import { planRecipe } from '../../trainers/recipe.ts';

// Stage reuse compares these hashes with the ones stored in each stage's model: a change in how a config is
// serialised, or in what a config derives, would silently retrain every user's finished stages. The values were
// computed at acc4948 (before safe-stable-stringify replaced the hand-written serialiser, before the trainer
// refactor and before Hugging Face models changed `derived`), with the runs under /posttrain-runs: later stages
// hash their earlier stages' model paths, which are absolute.
const RUNS = '/posttrain-runs';
const BEFORE = {
  ppo: { sft: 'a22387d37b4754bc', reward: '38e296fd00f2b49f', ppo: 'a1987dd14ddcf4dc' },
  dpo: { sft: 'a22387d37b4754bc', dpo: '7ad7eb799e8a22c7' },
  grpo: { sft: 'b1a9325a740bb96e', grpo: 'd5ffa755791ec6c4' },
};

describe('configHash', () => {
  it.each(Object.keys(BEFORE))('gives recipes/%s.ts the same stage hashes as before', async (name) => {
    const recipe = ((await import(`../../recipes/${name}.ts`)) as { default: { logging?: object } }).default;
    const placed = { ...recipe, logging: { ...recipe.logging, runsDirectory: RUNS } };
    const hashes = Object.fromEntries(planRecipe(placed).stages.map((stage) => [stage.stage, stage.hash]));
    expect(hashes).toEqual(BEFORE[name as keyof typeof BEFORE]);
  });

  it('hashes key order away and keeps undefined, nested arrays and number forms as before', () => {
    const config = { a: undefined, b: [1, undefined, { z: 'x', y: -0, w: 1e21, v: 0.1 }], 'é': null, A: true };
    expect(configHash(config)).toBe('bf9dc7452062f419');
    expect(configHash({ A: true, 'é': null, b: [1, undefined, { v: 0.1, w: 1e21, y: -0, z: 'x' }], a: undefined })).toBe('bf9dc7452062f419');
  });

  it('ignores where a stage is logged, checkpointed, run and named', () => {
    const base = { trainer: { steps: 3 } };
    expect(configHash({ ...base, name: 'x', logging: { level: 'info' }, checkpoint: { everySteps: 5 }, runtime: { colocate: 'all' } })).toBe(configHash(base));
  });
});
