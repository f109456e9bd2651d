/**
 * `npm run bench -- frontier [--runs-dir runs/frontier] [--ppo-kl 0.01,0.05,0.2] [--dpo-beta 0.05,0.2,1]
 *   [--ppo-steps 20] [--dpo-steps 40] [--sft-steps 200] [--reward-steps 100]`
 *
 * The reward-KL frontier of the DPO paper's Figure 2 (Rafailov et al. 2023): PPO at several KL coefficients and DPO
 * at several betas on the preference (sentiment) task, all starting from one SFT model (PPO also from one reward
 * model), each point the final gold reward against the final KL(pi || pi_ref) on the same held-out prompts. Writes
 * the runs and `frontier.html` into the runs directory and prints one JSON object with the points and the budget.
 *
 * The budget is modest on purpose (a few minutes on 2 cores): a small model (d_model 64, 2 layers) and tens of
 * steps. It shows the shape of the trade-off, not the paper's numbers; raise the steps for a smoother frontier.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Runtime, rootLogger } from '../runtime/index.ts';
import { writeFrontierReport, type RunSummary } from '../observe/index.ts';
import { DPOTrainer } from '../trainers/dpo-trainer.ts';
import { PPOTrainer } from '../trainers/ppo-trainer.ts';
import { RewardTrainer } from '../trainers/reward-trainer.ts';
import { SFTTrainer } from '../trainers/sft-trainer.ts';
import { loadAverage, machineInfo } from './_peer.ts';
import { parseFlags } from './_flags.ts';

/** The model every run uses: half bench-S's width, so the sweep of runs fits in minutes. */
const MODEL = { dModel: 64, nHeads: 4, nLayers: 2, contextLength: 64 };
/** Held-out prompts every run is evaluated on (the same seed, so points are comparable). */
const EVALUATION = { evalPrompts: 26, evalSamplesPerPrompt: 4 };

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { 'sft-steps': 'number', 'reward-steps': 'number', 'ppo-steps': 'number', 'dpo-steps': 'number', 'runs-dir': 'string', 'ppo-kl': 'string', 'dpo-beta': 'string' });
  const list = (name: 'ppo-kl' | 'dpo-beta', fallback: number[]): number[] => (flags[name] === undefined ? fallback : String(flags[name]).split(',').map(Number));
  const budget = {
    model: MODEL,
    sftSteps: Number(flags['sft-steps'] ?? 200),
    rewardSteps: Number(flags['reward-steps'] ?? 100),
    ppoSteps: Number(flags['ppo-steps'] ?? 20),
    dpoSteps: Number(flags['dpo-steps'] ?? 40),
    batchSize: 32,
    ppoKlCoefficients: list('ppo-kl', [0.01, 0.05, 0.2]),
    dpoBetas: list('dpo-beta', [0.05, 0.2, 1]),
  };
  const runsDirectory = resolve(String(flags['runs-dir'] ?? 'runs/frontier'));
  mkdirSync(runsDirectory, { recursive: true });
  const shared = { task: { name: 'sentiment' as const }, model: MODEL, logging: { runsDirectory, level: 'warn' as const, progress: false } };
  const started = performance.now();
  const runtime = await Runtime.start({ logger: rootLogger().child({ bench: 'frontier' }) });
  const stageSeconds: Record<string, number> = {};
  const timed = async (name: string, work: () => Promise<RunSummary>): Promise<RunSummary> => {
    const begin = performance.now();
    try {
      return await work();
    } finally {
      stageSeconds[name] = Math.round((performance.now() - begin) / 100) / 10;
    }
  };
  let sftSummary: RunSummary | undefined;
  let rewardSummary: RunSummary | undefined;
  const points: { method: string; coefficient: number; run: string; goldReward: number; kl: number; baselineGoldReward: number }[] = [];
  try {
    // ---- one SFT model and one reward model, shared by every point
    sftSummary = await timed('sft', () => new SFTTrainer({ ...shared, name: 'sft', trainer: { steps: budget.sftSteps, batchSize: budget.batchSize, evalPrompts: 0 } }, { runtime }).train());
    const sftModel = join(runsDirectory, 'sft', 'model');
    rewardSummary = await timed('reward', () => new RewardTrainer({ ...shared, name: 'reward', init: { from: sftModel }, trainer: { steps: budget.rewardSteps, batchSize: budget.batchSize } }, { runtime }).train());
    const rewardModel = join(runsDirectory, 'reward', 'model');

    // ---- PPO at each KL coefficient: a larger coefficient holds the policy closer to the SFT model
    for (const klCoef of budget.ppoKlCoefficients) {
      const name = `ppo-kl${klCoef}`;
      const summary = await timed(name, () =>
        new PPOTrainer(
          {
            ...shared,
            name,
            init: { policy: sftModel, reward: rewardModel },
            rollout: { batchSize: budget.batchSize },
            algo: { klCoef, epochs: 2, minibatches: 2 },
            trainer: { steps: budget.ppoSteps, learningRate: 1e-4, evalEvery: 0, ...EVALUATION },
          },
          { runtime },
        ).train(),
      );
      points.push(point('ppo', klCoef, name, summary));
    }
    // ---- DPO at each beta: the beta of Eq. 7 plays the KL coefficient's part
    for (const beta of budget.dpoBetas) {
      const name = `dpo-beta${beta}`;
      const summary = await timed(name, () =>
        new DPOTrainer(
          { ...shared, name, init: { policy: sftModel }, algo: { beta }, trainer: { steps: budget.dpoSteps, batchSize: budget.batchSize, evalEvery: 0, ...EVALUATION } },
          { runtime },
        ).train(),
      );
      points.push(point('dpo', beta, name, summary));
    }
  } finally {
    await runtime.shutdown();
  }
  const report = writeFrontierReport(
    points.map((entry) => join(runsDirectory, entry.run)),
    { out: join(runsDirectory, 'frontier.html'), title: 'Reward-KL frontier: PPO (KL coefficients) and DPO (betas) on the sentiment task' },
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'frontier',
      note: 'Final gold reward against final KL(pi || pi_ref) on the same 26 held-out prompts x 4 samples, after the budget below (DPO paper, Figure 2). No peer: the comparison is between the methods. Measured under load on a shared machine.',
      budget: { ...budget, wallSeconds: Math.round((performance.now() - started) / 100) / 10, stageSeconds },
      baselineGoldReward: points[0]?.baselineGoldReward,
      // How good the shared starting points were: PPO can only climb the gold reward as far as the reward model follows it.
      sftHeldOutLoss: sftSummary?.finalHeldOutLoss,
      rewardModelHeldOutAccuracy: rewardSummary?.heldOutAccuracy,
      points: points.map(({ baselineGoldReward: _baseline, ...rest }) => rest),
      report: report.path,
      runsDirectory,
      machine: machineInfo(),
      loadAverageAtEnd: loadAverage(),
    })}\n`,
  );
}

function point(method: string, coefficient: number, run: string, summary: RunSummary) {
  const round = (value: unknown) => (typeof value === 'number' ? Math.round(value * 10_000) / 10_000 : Number.NaN);
  return { method, coefficient, run, goldReward: round(summary.finalGoldReward), kl: round(summary.finalKl), baselineGoldReward: round(summary.baselineGoldReward) };
}
