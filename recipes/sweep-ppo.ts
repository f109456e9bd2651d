/**
 * Which learning rate, KL coefficient, clip range and rollout batch make PPO learn fastest on the sentiment task?
 * Sixteen partial PPO runs of recipes/ppo.ts, four at a time, weak ones stopped early by the median pruner. SFT and
 * the reward model are trained once (runs/sweep-ppo/sft, runs/sweep-ppo/reward) and shared by every trial; each
 * trial writes runs/sweep-ppo/trial-<n>/. The study is an Optuna study in runs/sweeps.db.
 *
 *   npx recipe sweep recipes/sweep-ppo.ts               # not yet timed end to end; see below
 *   npx recipe sweep recipes/sweep-ppo.ts --resume      # after Ctrl-C or a crash: lost trials re-run, none twice
 *   npx recipe sweep recipes/sweep-ppo.ts --dry-run     # check the sweep against the recipe, run nothing
 *
 * Budget: at most 16 x 20 PPO steps of bench-S. A batch-64 step takes ~5 s alone on 2 cores (measured), so expect
 * the order of half an hour on a quiet 2-core machine with pruning, plus a few minutes for SFT and the reward model.
 */
export default {
  name: 'sweep-ppo',
  baseRecipe: 'recipes/ppo.ts',
  space: {
    // Learning rates and KL coefficients matter by orders of magnitude: search them in log space.
    'stages.ppo.trainer.learningRate': { type: 'float', low: 1e-5, high: 1e-3, log: true },
    'stages.ppo.algo.klCoef': { type: 'float', low: 0.01, high: 0.2, log: true },
    'stages.ppo.algo.clipRange': { type: 'float', low: 0.1, high: 0.3 },
    'stages.ppo.rollout.batchSize': { type: 'categorical', choices: [32, 64] },
  },
  // Partial runs: 20 PPO steps rank the settings; the winner is then trained to the end with `recipe run`.
  overrides: { 'stages.ppo.trainer.steps': 20 },
  // TPE after 8 random trials (Optuna's default is 10; with 16 trials, half are left for TPE to exploit).
  sampler: { type: 'tpe', seed: 0, nStartupTrials: 8 },
  // No pruning before step 10: the first steps of every trial look alike (the policy has barely moved).
  pruner: { type: 'median', nStartupTrials: 4, nWarmupSteps: 10 },
  // The gold reward of each rollout batch, averaged over the 5 steps between reports; the trial's value is the
  // held-out gold reward after training (`finalGoldReward`).
  metric: 'goldReward',
  direction: 'maximize',
  nTrials: 16,
  concurrency: 4,
  reportInterval: 5,
  // Four logical GPUs on this one machine, so four trials hold a "GPU" each as they would on a GPU box; remove
  // `nodes` on a real machine to use its own resources.
  nodes: [{ resources: { CPU: 2, GPU: 4 } }],
  // One worker process per trial (the recipe colocates every role), one tensor thread: 4 trials on 2 cores.
  trial: { resources: { CPU: 0.5, GPU: 1 }, threads: 1 },
};
