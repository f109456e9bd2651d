/**
 * The programmatic API: the three stages of recipes/ppo.ts as trainer calls, each returning its summary.
 *
 *   npx tsx examples/programmatic-ppo.ts            # a few minutes on 2 cores
 *   STEPS_SCALE=0.05 npx tsx examples/programmatic-ppo.ts   # a smoke run
 */
import { PPOTrainer, RewardTrainer, SFTTrainer } from '../index.ts';

const scale = Number(process.env.STEPS_SCALE ?? 1);
const steps = (full: number) => Math.max(2, Math.round(full * scale));
const task = { name: 'sentiment' } as const;
const logging = { runsDirectory: 'runs/programmatic', level: 'warn' } as const;

const sft = await new SFTTrainer({ name: 'sft', task, logging, trainer: { steps: steps(300), batchSize: 64 } }).train();
const reward = await new RewardTrainer({ name: 'reward', task, logging, init: { from: sft.model }, trainer: { steps: steps(150), batchSize: 64 } }).train();

const ppo = new PPOTrainer({
  name: 'ppo',
  task,
  logging,
  init: { policy: sft.model, reward: reward.model },
  rollout: { batchSize: 64 },
  algo: { klCoef: 0.1 },
  trainer: { steps: steps(30), learningRate: 1e-4 },
});
ppo.on('step', (record) => console.log(`step ${record.step}: model reward ${record.modelReward?.toFixed(3)}, KL ${record.kl?.toFixed(3)}`));
const summary = await ppo.train();
console.log(`gold reward ${summary.baselineGoldReward?.toFixed(3)} -> ${summary.finalGoldReward?.toFixed(3)}, mean KL ${summary.meanKl?.toFixed(3)}`);
