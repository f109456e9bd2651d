/**
 * Stage reuse in `recipe run`: a finished stage is reused only for its exact config and only if no stage before
 * it was trained again since; a stage whose config changed, or whose inputs were retrained, starts over instead of
 * tripping over its own old checkpoints.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { planRecipe, runRecipe } from '../../trainers/recipe.ts';
import { Runtime } from '../../runtime/index.ts';
import { readMetrics, temporaryDirectory, tinySftDpoRecipe } from '../faults/helpers.ts';

it('reuses finished stages for the same config, trains a changed stage and every later one again from the start', async () => {
  const root = temporaryDirectory('recipe-reuse');
  const recipe = (sftSteps: number, dpoSteps: number) => tinySftDpoRecipe(root, { seed: 1, sftSteps, dpoSteps, dpoCheckpoint: { everySteps: 2 } });
  const runtime = await Runtime.start({ namespace: 'recipe-reuse' });
  try {
    const run = (sftSteps: number, dpoSteps: number) => runRecipe(planRecipe(recipe(sftSteps, dpoSteps)), { runtime });
    const dpoDirectory = join(root, 'runs', 'pipeline', 'dpo');

    const first = await run(2, 4);
    expect(first.stages).toMatchObject({ sft: { steps: 2 }, dpo: { steps: 4 } });

    // Same recipe: both reused.
    const same = await run(2, 4);
    expect(same.stages).toMatchObject({ sft: { reused: true }, dpo: { reused: true } });

    // DPO changed: SFT reused, DPO trained again from step 1 although its old checkpoints are there.
    const dpoChanged = await run(2, 6);
    expect(dpoChanged.stages).toMatchObject({ sft: { reused: true }, dpo: { steps: 6 } });
    expect((dpoChanged.stages as Record<string, object>).dpo).not.toHaveProperty('resumedFrom');
    expect(readMetrics(dpoDirectory).map((record) => record.step)).toEqual([1, 2, 3, 4, 5, 6]);

    // SFT changed: SFT trained again, so DPO (same config, older inputs) is trained again too.
    const sftChanged = await run(3, 6);
    expect(sftChanged.stages).toMatchObject({ sft: { steps: 3 }, dpo: { steps: 6 } });
    expect((sftChanged.stages as Record<string, object>).dpo).not.toHaveProperty('reused');
    expect((sftChanged.stages as Record<string, object>).dpo).not.toHaveProperty('resumedFrom');
  } finally {
    await runtime.shutdown();
  }
});
