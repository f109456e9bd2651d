/**
 * The file formats that observability reads and writes, in one place so that the trainers, the sweep launcher and
 * the reports agree on them. Two families:
 *
 * - a run directory `runs/<name>/`: `config.json` (the resolved config, free-form here), `metrics.jsonl` (one
 *   `MetricsRecord` per line), `session.json` (the process running it) and `summary.json` (a `RunSummary`,
 *   written when the run ends); a recipe's directory holds one such directory per stage and its own summary;
 * - a sweep database: SQLite with Optuna's RDB schema (the `Optuna*Row` types mirror its tables).
 *
 * Checkpoint convention (for `recipe status`): a metrics line MAY carry `checkpoint: { step, uri }` on the step at
 * which a checkpoint manifest was written, and `summary.json` MAY carry `lastCheckpoint` with the same shape. The
 * newest of the two is "the last checkpoint".
 */

/** Seconds spent in each phase of one iteration: `generate`, `score`, `advantages`, `train`, and any others. */
export type PhaseSeconds = Record<string, number>;

/** Where and when a checkpoint was written. */
export interface CheckpointRecord {
  /** The training step the checkpoint holds. */
  step: number;
  /** Where it lives: `s3://bucket/prefix/run/step-000100/` or `file://...`. */
  uri: string;
}

/**
 * One line of `metrics.jsonl`. Every field except `step` may be missing: each stage logs what it has (PPO logs
 * rewards and losses, DPO its loss and accuracy, SFT its loss). Extra numeric fields are charted as they come.
 */
export interface MetricsRecord {
  /** Training step (iteration), counted from 1 within a stage. */
  step: number;
  /** Which stage wrote the line (`sft`, `reward`, `ppo`, `dpo`, `grpo`) when a run directory holds several. */
  stage?: string;
  /** Unix time in seconds when the line was written; the writer stamps it when missing. */
  wallTime?: number;
  /** Mean reward from the task's gold reward function (the truth the run is judged by). */
  goldReward?: number;
  /** Mean reward from the learned reward model (what PPO optimises). */
  modelReward?: number;
  /** Mean KL(pi || pi_ref) per sequence. */
  kl?: number;
  policyLoss?: number;
  valueLoss?: number;
  /** Fraction of tokens whose probability ratio was clipped. */
  clipFraction?: number;
  /** Mean per-token entropy of the policy. */
  entropy?: number;
  /** This step's generated (response) tokens / this step's generate-phase seconds. */
  generatedTokensPerSecond?: number;
  phaseSeconds?: PhaseSeconds;
  /** Version of the policy weights the batch was generated with. */
  weightVersion?: number;
  /** Present on the step at which a checkpoint was written. */
  checkpoint?: CheckpointRecord;
  [field: string]: unknown;
}

/** `summary.json`, written once when a run (or stage) finishes. */
export interface RunSummary {
  baselineGoldReward?: number;
  finalGoldReward?: number;
  meanKl?: number;
  steps?: number;
  wallSeconds?: number;
  /** All generated (response) tokens of the stage / all its generate-phase seconds (not a mean of per-step rates). */
  generatedTokensPerSecond?: number;
  /** Tensor backend the run used (`wasm`, `cpu`, `tensorflow`). */
  backend?: string;
  /** Training method (`ppo`, `dpo`, `grpo`); groups points in the frontier chart. */
  method?: string;
  /** Short label for a point in comparisons, e.g. `beta=0.1`. */
  label?: string;
  lastCheckpoint?: CheckpointRecord;
  /** The stage's output model file (`<run>/model`): the `init` of the next stage. */
  model?: string;
  [field: string]: unknown;
}

/** `session.json`: the process running (or that ran) a run, written when the run starts. */
export interface SessionInfo {
  pid: number;
  hostname: string;
  /** Unix time in seconds. */
  startedAt: number;
  method?: string;
  name?: string;
  /** The run's Prometheus endpoint, when it serves one. */
  metricsUrl?: string;
}

/** A run directory as read back from disk. */
export interface RunData {
  /** Absolute path of the run directory. */
  dir: string;
  /** The directory's base name, which is the run name. */
  name: string;
  config: Record<string, unknown> | undefined;
  metrics: MetricsRecord[];
  summary: RunSummary | undefined;
  /** `session.json`, when the run was started by a trainer that writes one. */
  session?: SessionInfo;
}

/** A recipe's directory as read back: `runs/<name>/` with one run directory per stage. */
export interface PipelineData {
  dir: string;
  name: string;
  /** The recipe's `summary.json` (the last stage's summary plus `stages`), once it finished. */
  summary: RunSummary | undefined;
  /** Each stage's run, in the order the stages ran. */
  stages: RunData[];
}

/** Optuna `trials.state`, stored by name. */
export type OptunaTrialState = 'RUNNING' | 'COMPLETE' | 'PRUNED' | 'FAIL' | 'WAITING';

/** Optuna `study_directions.direction`. */
export type OptunaDirection = 'MINIMIZE' | 'MAXIMIZE' | 'NOT_SET';

/** Optuna's type column beside a value: a finite number, or one of the non-finite values stored as NULL. */
export type OptunaValueType = 'FINITE' | 'INF_POS' | 'INF_NEG' | 'NAN';

/** Row of Optuna's `studies` table. */
export interface OptunaStudyRow {
  study_id: number;
  study_name: string;
}

/** Row of Optuna's `study_directions` table. */
export interface OptunaStudyDirectionRow {
  study_direction_id: number;
  direction: OptunaDirection;
  study_id: number;
  objective: number;
}

/** Row of Optuna's `trials` table. Datetimes are Optuna's text format `YYYY-MM-DD HH:MM:SS.ffffff` (UTC). */
export interface OptunaTrialRow {
  trial_id: number;
  number: number;
  study_id: number;
  state: OptunaTrialState;
  datetime_start: string | null;
  datetime_complete: string | null;
}

/** Row of Optuna's `trial_params` table; a categorical's `param_value` is the index of the choice. */
export interface OptunaTrialParamRow {
  param_id: number;
  trial_id: number;
  param_name: string;
  param_value: number;
  distribution_json: string;
}

/** Row of Optuna's `trial_values` table. */
export interface OptunaTrialValueRow {
  trial_value_id: number;
  trial_id: number;
  objective: number;
  value: number | null;
  value_type: OptunaValueType;
}

/** Row of Optuna's `trial_intermediate_values` table. */
export interface OptunaTrialIntermediateValueRow {
  trial_intermediate_value_id: number;
  trial_id: number;
  step: number;
  intermediate_value: number | null;
  intermediate_value_type: OptunaValueType;
}

/** Row of Optuna's `trial_user_attributes` table (e.g. `release_ms`). */
export interface OptunaTrialUserAttributeRow {
  trial_user_attribute_id: number;
  trial_id: number;
  key: string;
  value_json: string;
}

/** Optuna's `distribution_json`: `{"name": "FloatDistribution", "attributes": {...}}`. */
export type OptunaDistribution =
  | { name: 'FloatDistribution'; attributes: { low: number; high: number; log: boolean; step: number | null } }
  | { name: 'IntDistribution'; attributes: { low: number; high: number; log: boolean; step: number } }
  | { name: 'CategoricalDistribution'; attributes: { choices: (string | number | boolean | null)[] } };

/** One trial of a sweep, decoded from the rows above. */
export interface SweepTrial {
  number: number;
  state: OptunaTrialState;
  /** Objective 0's value (non-finite values decoded); undefined when the trial has none. */
  value: number | undefined;
  /** Parameter values, categoricals decoded to their choice. */
  params: Record<string, string | number | boolean | null>;
  distributions: Record<string, OptunaDistribution>;
  /** (step, value) pairs in step order. */
  intermediate: { step: number; value: number }[];
  userAttributes: Record<string, unknown>;
  /** Seconds from start to completion, when both are recorded. */
  durationSeconds: number | undefined;
  datetimeStart: string | null;
}

/** A study as read back from a sweep database. */
export interface SweepData {
  dbPath: string;
  studyName: string;
  direction: OptunaDirection;
  trials: SweepTrial[];
}
