/**
 * posttrain's HPO: Optuna-compatible SQLite studies, samplers, pruners and the generic sweep core. The
 * trainer-backed launcher (`recipe sweep`) is `tune/sweep-launcher.ts`: it loads the trainers (and the tensor
 * engine), so it is imported on its own rather than from here.
 *
 * @example
 * import { createStudy, TpeSampler, MedianPruner } from './tune/index.ts';
 * const study = createStudy({ storage: 'sqlite:///runs/sweeps.db', studyName: 'demo', sampler: new TpeSampler({ seed: 0 }) });
 */
export {
  type CategoricalChoice,
  type CategoricalDistribution,
  categoricalDistribution,
  type Distribution,
  distributionFromJson,
  distributionToJson,
  type FloatDistribution,
  floatDistribution,
  type IntDistribution,
  intDistribution,
  type ParamValue,
} from './distributions.ts';
export { DuplicatedStudyError, StudyNotFoundError, StudyStorageError, TrialFinishedError, TrialPruned } from './errors.ts';
export { failStaleTrials, type HeartbeatOptions, startHeartbeat } from './heartbeat.ts';
export { HyperbandPruner, type HyperbandPrunerOptions } from './pruners/hyperband-pruner.ts';
export { MedianPruner } from './pruners/median-pruner.ts';
export { PercentilePruner, type PercentilePrunerOptions } from './pruners/percentile-pruner.ts';
export { NopPruner, type Pruner } from './pruners/pruner.ts';
export { completedRungKey, SuccessiveHalvingPruner, type SuccessiveHalvingPrunerOptions } from './pruners/successive-halving-pruner.ts';
export { GridSampler } from './samplers/grid-sampler.ts';
export { RandomSampler } from './samplers/random-sampler.ts';
export type { Sampler } from './samplers/sampler.ts';
export { defaultGamma, TpeSampler, type TpeSamplerOptions } from './samplers/tpe/tpe-sampler.ts';
export { DEFAULT_REVISION, type OptunaSchemaRevision, SUPPORTED_REVISIONS } from './storage/schema.ts';
export { SqliteStorage, type SqliteStorageOptions, type TrialTemplate } from './storage/sqlite-storage.ts';
export { parseStorageUrl } from './storage/storage-url.ts';
export {
  createStudy,
  type CreateStudyOptions,
  loadStudy,
  type LoadStudyOptions,
  type Objective,
  type OptimizeOptions,
  Study,
  type StudyOptions,
  type TellInput,
} from './study.ts';
export type { StudyView } from './study-view.ts';
export { overlayParams, parseSearchSpace, type SearchParam, type SearchSpace, searchSpaceSchema, suggestFromSpace } from './search-space.ts';
export {
  DEFAULT_SWEEP_STORAGE,
  loadSweepConfig,
  parseSweepConfig,
  type PrunerConfig,
  prunerFromConfig,
  type SamplerConfig,
  samplerFromConfig,
  type SweepConfig,
  sweepConfigSchema,
} from './sweep-config.ts';
export { formatSweepProgress } from './sweep-progress.ts';
export { actorsOfRemovedGroupsGone, type LeakReport, leakedSince, type RuntimeSnapshot, snapshotRuntime, trialsThatFit } from './runtime-checks.ts';
export {
  RELEASE_MS_KEY,
  runSweep,
  type RunSweepOptions,
  SWEEP_OWNER_KEY,
  type SweepProgress,
  type SweepSummary,
  type SweepTrial,
  type TrialResult,
  type TrialSignals,
} from './sweep-runner.ts';
export { Trial } from './trial.ts';
export { type DirectionInput, type FrozenTrial, type StudyDirection, type StudySummary, TrialState } from './types.ts';
