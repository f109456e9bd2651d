import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ConfigError } from '../runtime/errors.ts';
import { HyperbandPruner } from './pruners/hyperband-pruner.ts';
import { MedianPruner } from './pruners/median-pruner.ts';
import { NopPruner, type Pruner } from './pruners/pruner.ts';
import { SuccessiveHalvingPruner } from './pruners/successive-halving-pruner.ts';
import { GridSampler } from './samplers/grid-sampler.ts';
import { RandomSampler } from './samplers/random-sampler.ts';
import type { Sampler } from './samplers/sampler.ts';
import { TpeSampler } from './samplers/tpe/tpe-sampler.ts';
import { configErrorFromZod, gridValues, type SearchSpace, searchSpaceSchema } from './search-space.ts';

/** Where studies live unless the sweep file or `--storage` says otherwise. */
export const DEFAULT_SWEEP_STORAGE = 'sqlite:///runs/sweeps.db';

const seed = z.number().int().min(0).optional();

/** Which sampler proposes trials. */
export const samplerConfigSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('tpe'),
    seed,
    /** Random trials before TPE takes over (COMPLETE and PRUNED count). */
    nStartupTrials: z.number().int().min(0).default(10),
    /** Candidates scored per suggestion. */
    nEiCandidates: z.number().int().min(1).default(24),
  }),
  z.strictObject({ type: z.literal('random'), seed }),
  /** Every combination of the (discrete) space once; floats need a step. */
  z.strictObject({ type: z.literal('grid'), seed }),
]);

/** Which pruner stops weak trials early; `none` never does. */
export const prunerConfigSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('median'),
    /** Completed trials needed before anything is pruned. */
    nStartupTrials: z.number().int().min(0).default(5),
    /** Reported steps before a trial can be pruned. */
    nWarmupSteps: z.number().int().min(0).default(0),
    /** Check every this many steps after warm-up. */
    intervalSteps: z.number().int().min(1).default(1),
  }),
  z.strictObject({
    type: z.literal('successiveHalving'),
    minResource: z.union([z.literal('auto'), z.number().int().min(1)]).default('auto'),
    reductionFactor: z.number().int().min(2).default(4),
    minEarlyStoppingRate: z.number().int().min(0).default(0),
  }),
  z.strictObject({
    type: z.literal('hyperband'),
    minResource: z.number().int().min(1).default(1),
    maxResource: z.union([z.literal('auto'), z.number().int().min(1)]).default('auto'),
    reductionFactor: z.number().int().min(2).default(3),
  }),
  z.strictObject({ type: z.literal('none') }),
]);

/**
 * A sweep file (`recipes/sweep-ppo.ts` default-exports one): which recipe to tune, over what, how trials are
 * chosen and stopped, and where the study is stored. Unknown keys are rejected.
 *
 * @example
 * export default {
 *   name: 'ppo-lr-kl',
 *   baseRecipe: 'recipes/ppo.ts',
 *   space: { 'stages.ppo.trainer.learningRate': { type: 'float', low: 1e-5, high: 1e-3, log: true } },
 *   metric: 'goldReward',
 *   direction: 'maximize',
 *   nTrials: 16,
 *   concurrency: 4,
 *   nodes: [{ resources: { CPU: 2, GPU: 4 } }],
 *   trial: { resources: { CPU: 0.5, GPU: 1 }, threads: 1 },
 * };
 */
export const sweepConfigSchema = z
  .strictObject({
    // ---- what is tuned
    /** Study name in the storage (a resumed sweep finds its study by it) and the sweep's run directory. */
    name: z.string().max(512).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only (it also names the run directory runs/<name>/)'),
    /** Path of the recipe every trial starts from (relative to the current directory, like every path on the command line). */
    baseRecipe: z.string().min(1),
    /**
     * Parameter -> range or choices. Names are dotted paths into the base recipe's tuned (last) stage, e.g.
     * `stages.ppo.trainer.learningRate`; any field the stage's config accepts may be searched, set in the recipe or not.
     */
    space: searchSpaceSchema,
    /**
     * Fixed values (dotted recipe paths) applied to the base recipe before anything runs, e.g.
     * `{ 'stages.ppo.trainer.steps': 20 }` for partial runs; may also shrink the shared stages.
     */
    overrides: z.record(z.string(), z.unknown()).default({}),
    // ---- how
    sampler: samplerConfigSchema.default({ type: 'tpe', nStartupTrials: 10, nEiCandidates: 24 }),
    pruner: prunerConfigSchema.default({ type: 'median', nStartupTrials: 5, nWarmupSteps: 0, intervalSteps: 1 }),
    /**
     * The step metric reported to the pruner (e.g. `goldReward`, or `evalGoldReward` on evaluation steps). The
     * trial's value is the run summary's `final<Metric>` when it has one (both -> `finalGoldReward`), else the
     * last report.
     */
    metric: z.string().min(1),
    direction: z.enum(['minimize', 'maximize']),
    // ---- how much
    /** Trials the study should hold when the sweep is done (finished ones; lost ones are re-run). */
    nTrials: z.number().int().min(1),
    /** Trials running at once, each in its own placement group. */
    concurrency: z.number().int().min(1).default(1),
    /**
     * Training steps between metric reports (each report is one pruning check). A report is the mean of the
     * metric over the steps since the previous one, so a noisy per-batch metric does not prune on one bad batch.
     */
    reportInterval: z.number().int().min(1).default(10),
    // ---- where trials run
    /** Logical nodes of the sweep's shared runtime, e.g. `[{ resources: { CPU: 2, GPU: 4 } }]` (default: the base recipe's). */
    nodes: z.array(z.strictObject({ name: z.string().optional(), resources: z.record(z.string(), z.number().min(0)) })).min(1).optional(),
    trial: z
      .strictObject({
        /**
         * What each role host of a trial reserves, e.g. `{ CPU: 0.5, GPU: 1 }`. With the default `colocate: 'all'`
         * a trial is one host, so this is the trial's whole reservation (its own placement group).
         */
        resources: z.record(z.string(), z.number().min(0)).optional(),
        /** Tensor threads per trial worker (default: the machine's cores / concurrency, at least 1). */
        threads: z.number().int().min(1).max(256).optional(),
      })
      .prefault({}),
    // ---- where
    /** `sqlite:///relative.db` or `sqlite:////absolute.db`; `recipe sweep --storage URL` overrides it. */
    storage: z.string().min(1).default(DEFAULT_SWEEP_STORAGE),
    /** Trials write a heartbeat every intervalSeconds; one silent for gracePeriodSeconds is failed and re-run. */
    heartbeat: z
      .strictObject({ intervalSeconds: z.number().positive().default(10), gracePeriodSeconds: z.number().positive().default(60) })
      .default({ intervalSeconds: 10, gracePeriodSeconds: 60 }),
  })
  .superRefine((config, context) => {
    if (config.concurrency > config.nTrials) {
      context.addIssue({ code: 'custom', path: ['concurrency'], message: `concurrency (${config.concurrency}) must be <= nTrials (${config.nTrials})` });
    }
    if (config.heartbeat.gracePeriodSeconds <= config.heartbeat.intervalSeconds) {
      context.addIssue({
        code: 'custom',
        path: ['heartbeat', 'gracePeriodSeconds'],
        message: `gracePeriodSeconds (${config.heartbeat.gracePeriodSeconds}) must exceed intervalSeconds (${config.heartbeat.intervalSeconds})`,
      });
    }
    if (config.sampler.type === 'grid') {
      for (const [name, param] of Object.entries(config.space)) {
        if (gridValues(param) === undefined) context.addIssue({ code: 'custom', path: ['space', name], message: 'the grid sampler needs a step on float parameters' });
      }
    }
  });

export type SweepConfig = z.infer<typeof sweepConfigSchema>;
export type SamplerConfig = z.infer<typeof samplerConfigSchema>;
export type PrunerConfig = z.infer<typeof prunerConfigSchema>;

/**
 * Validates a sweep file's default export; every problem is reported at once with its path.
 * `overrides.storage` is the CLI's `--storage`.
 *
 * @example
 * const config = parseSweepConfig((await import(file)).default, { storage: options.storage });
 */
export function parseSweepConfig(input: unknown, overrides: { storage?: string } = {}): SweepConfig {
  const withOverrides = overrides.storage && typeof input === 'object' && input !== null ? { ...input, storage: overrides.storage } : input;
  const parsed = sweepConfigSchema.safeParse(withOverrides);
  if (!parsed.success) throw configErrorFromZod(parsed.error, '');
  return parsed.data;
}

/**
 * Imports a sweep file (a module whose default export is the sweep) and validates it. `.ts` files need the tsx
 * loader, which the `recipe` command runs under.
 *
 * @example
 * const config = await loadSweepConfig('recipes/sweep-ppo.ts', { storage: cliOptions.storage });
 */
export async function loadSweepConfig(path: string, overrides: { storage?: string } = {}): Promise<SweepConfig> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new ConfigError([{ path: 'sweep file', message: `${path} does not exist` }]);
  const module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
  if (module.default === undefined) throw new ConfigError([{ path: 'sweep file', message: `${path} has no default export; export the sweep with \`export default { ... }\`` }]);
  return parseSweepConfig(module.default, overrides);
}

/** The sampler a sweep file asks for. */
export function samplerFromConfig(config: SamplerConfig, space: SearchSpace): Sampler {
  switch (config.type) {
    case 'tpe':
      return new TpeSampler({ seed: config.seed, nStartupTrials: config.nStartupTrials, nEiCandidates: config.nEiCandidates });
    case 'random':
      return new RandomSampler({ seed: config.seed });
    case 'grid':
      return new GridSampler(Object.fromEntries(Object.entries(space).map(([name, param]) => [name, gridValues(param)!])), { seed: config.seed });
  }
}

/** The pruner a sweep file asks for. */
export function prunerFromConfig(config: PrunerConfig): Pruner {
  switch (config.type) {
    case 'median':
      return new MedianPruner(config);
    case 'successiveHalving':
      return new SuccessiveHalvingPruner(config);
    case 'hyperband':
      return new HyperbandPruner(config);
    case 'none':
      return new NopPruner();
  }
}
