/**
 * The file formats that observability reads and writes, in one place so that the trainers, the sweep launcher and
 * the reports agree on them. Two families:
 *
 * - a run directory `runs/<name>/`: `config.json` (the resolved config, free-form here), `metrics.jsonl` (one
 *   `MetricsRecord` per line), `session.json` (the process running it) and `summary.json` (a `RunSummary`,
 *   written when the run ends); a recipe's directory holds one such directory per stage and its own summary;
 * - a sweep database: SQLite with Optuna's RDB schema, read only through tune/storage (its one reader); a study
 *   comes back as `SweepData`, in tune's own types.
 *
 * Checkpoint convention (for `recipe status`): a metrics line MAY carry `checkpoint: { step, uri }` on the step at
 * which a checkpoint manifest was written, and `summary.json` MAY carry `lastCheckpoint` with the same shape. The
 * newest of the two is "the last checkpoint".
 */
import type { Distribution, ParamValue } from '../tune/distributions.ts';
import type { StudyDirection, TrialState } from '../tune/types.ts';

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
  /** On evaluation steps: a few held-out prompts with what the policy completed and its gold reward. */
  evalSamples?: EvalSample[];
  [field: string]: unknown;
}

/** One evaluation sample as text: what a person reads to see what the model says. */
export interface EvalSample {
  prompt: string;
  /** The generated text, up to EOS. */
  completion: string;
  goldReward: number;
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
  /** The final evaluation's samples, as `evalSamples` on metrics lines. */
  finalEvalSamples?: EvalSample[];
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

/** One trial of a sweep, as read through tune/storage (see sweep-reader.ts). */
export interface SweepTrial {
  number: number;
  state: TrialState;
  /** Objective 0's value (non-finite values decoded); undefined when the trial has none. */
  value: number | undefined;
  /** Parameter values, categoricals decoded to their choice. */
  params: Record<string, ParamValue>;
  distributions: Record<string, Distribution>;
  /** (step, value) pairs in step order. */
  intermediate: { step: number; value: number }[];
  userAttributes: Record<string, unknown>;
  /** Seconds from start to completion, when both are recorded. */
  durationSeconds: number | undefined;
  datetimeStart: Date | undefined;
}

/** A study as read back from a sweep database. */
export interface SweepData {
  dbPath: string;
  studyName: string;
  direction: StudyDirection;
  trials: SweepTrial[];
}
