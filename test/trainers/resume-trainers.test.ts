/**
 * Every trainer resumes exactly: a copy of a finished run directory that holds only the checkpoint of step 3 (as a
 * run that died before step 6's checkpoint would) is continued by `resumeRun` (what `recipe resume` calls), and its
 * steps 4-6 equal the original's. This also checks that `resumeRun` recognises each trainer from its config.json.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Runtime } from '../../runtime/index.ts';
import { DPOTrainer, GRPOTrainer, RewardTrainer, SFTTrainer, parseGrpoConfig, parseSftConfig } from '../../trainers/index.ts';
import { gptConfigOf } from '../../models/model-spec.ts';
import { DETERMINISTIC_RUNTIME, readMetrics, temporaryDirectory, TINY_MODEL, resumeStoppedCopy, withoutWallClock, writeModel } from '../faults/helpers.ts';

let runtime: Runtime;
let root: string;
const sentiment = { task: { name: 'sentiment' as const }, model: { ...TINY_MODEL, contextLength: 48 } };
const arithmetic = { task: { name: 'arithmetic' as const }, model: TINY_MODEL };

beforeAll(async () => {
  runtime = await Runtime.start({ namespace: 'resume-trainers' });
  root = temporaryDirectory('resume-trainers');
  writeModel(join(root, 'init', 'sentiment'), gptConfigOf(parseSftConfig(sentiment).derived.model), 'language', 1);
  writeModel(join(root, 'init', 'arithmetic'), gptConfigOf(parseGrpoConfig({ ...arithmetic, init: { policy: 'unused' } }).derived.model), 'language', 1);
});
afterAll(async () => {
  await runtime.shutdown();
});

const common = () => ({ seed: 5, runtime: DETERMINISTIC_RUNTIME, checkpoint: { everySteps: 3 }, logging: { runsDirectory: join(root, 'runs'), level: 'error' as const, progress: false } });
const cases = {
  sft: () => new SFTTrainer({ ...common(), ...sentiment, name: 'sft', trainer: { steps: 6, batchSize: 4, evalEvery: 2, evalExamples: 8, evalPrompts: 0 } }, { runtime }),
  reward: () => new RewardTrainer({ ...common(), ...sentiment, name: 'reward', trainer: { steps: 6, batchSize: 4, evalEvery: 2, evalPairs: 8 } }, { runtime }),
  dpo: () =>
    new DPOTrainer(
      { ...common(), ...sentiment, name: 'dpo', init: { policy: join(root, 'init', 'sentiment') }, trainer: { steps: 6, batchSize: 4, evalEvery: 2, evalPrompts: 2, evalSamplesPerPrompt: 1 } },
      { runtime },
    ),
  grpo: () =>
    new GRPOTrainer(
      {
        ...common(),
        ...arithmetic,
        name: 'grpo',
        init: { policy: join(root, 'init', 'arithmetic') },
        rollout: { promptsPerStep: 2, samplesPerPrompt: 2 },
        algo: { epochs: 2, minibatches: 2 },
        trainer: { steps: 6, learningRate: 1e-3, evalEvery: 2, evalPrompts: 4 },
      },
      { runtime },
    ),
};

it.each(Object.keys(cases) as (keyof typeof cases)[])('%s: resumed from its step-3 checkpoint, a run computes steps 4-6 exactly as before', async (method) => {
  const original = join(root, 'runs', method);
  await cases[method]().train();
  const { copy, summary } = await resumeStoppedCopy(original, 3, { runtime });
  expect(summary.resumedFrom).toMatchObject({ step: 3, skipped: [] });
  const expected = withoutWallClock(readMetrics(original));
  expect(expected.map((record) => record.step)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(withoutWallClock(readMetrics(copy))).toEqual(expected);
});

