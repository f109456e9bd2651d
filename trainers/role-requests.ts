/**
 * Role requests built from a method's config, so each trainer names its roles in a few lines: which kind, which
 * weights, trainable or frozen. Group sizes and resources come from `runtime.roles.<name>` as the config resolved
 * them (trainers/role-sizes.ts).
 */
import { isAbsolute, relative, resolve } from 'node:path';
import type { AdamOptions } from '../models/adam.ts';
import type { HeadKind } from '../models/gpt.ts';
import { modelFileLocation } from '../models/model-file.ts';
import { isHfFolder } from '../models/model-spec.ts';
import type { TaskConfig } from '../models/tasks/index.ts';
import type { DerivedShapes, ModelConfig, RuntimeConfig, TaskConfigSection } from './config-sections.ts';
import type { RolloutWorkerInit } from '../rollout/rollout-worker.ts';
import type { RewardSpecInput } from '../rollout/reward-functions.ts';
import type { RoleRequest } from './role-groups.ts';
import type { WeightsSource } from './roles/model-role.ts';
import type { ResolvedRoles } from './role-sizes.ts';

/** The parts of a method's config every role request reads. */
export interface RoleContext {
  seed: number;
  task: TaskConfigSection;
  model: ModelConfig;
  /** The runtime section with every role's size resolved. */
  runtime: Omit<RuntimeConfig, 'roles'> & { roles: ResolvedRoles };
  derived: DerivedShapes;
  /** Where the policy starts (`init.policy`; SFT and reward: `init.from`); under LoRA, the base rollout workers adapt. */
  init?: { policy?: string | undefined; from?: string | undefined };
}

/**
 * Weights from an earlier stage's model (`runs/x/sft/model`: a Hugging Face folder or a GPT model file), or the
 * starting point when the path is absent: `model.from`'s weights, or fresh ones from the model seed.
 */
export function weightsFrom(context: RoleContext, path: string | undefined): WeightsSource {
  const seed = context.model.initSeed;
  if (!path) return { seed };
  return isHfFolder(path) ? { pretrained: path, seed } : { file: modelFileLocation(path), seed };
}

/**
 * A model role (policy, reference, reward, value) with its group size and resources from `runtime.roles`.
 *
 * @example
 * modelRole(config, { name: 'reference', kind: 'reference', head: 'language', weights: weightsFrom(config, config.init.policy) });
 */
export function modelRole(
  context: RoleContext,
  role: { name: string; kind: 'policy' | 'reference' | 'reward' | 'value'; head: HeadKind; weights: WeightsSource; optimizer?: AdamOptions },
): RoleRequest {
  const placement = context.runtime.roles[role.name];
  const size = placement?.groupSize ?? 1;
  return {
    name: role.name,
    kind: role.kind,
    size,
    ...(placement?.resources ? { resources: placement.resources } : {}),
    init: (rank: number) => ({
      role: role.name,
      rank,
      worldSize: size,
      model: context.derived.model,
      head: role.head,
      weights: role.weights,
      ...(role.optimizer ? { optimizer: role.optimizer } : {}),
      task: context.task as TaskConfig,
    }),
  } as RoleRequest;
}

/** A trainer section's optimizer settings (Adam, decoupled weight decay, gradient-norm clipping). */
export function optimizerOf(trainer: { learningRate: number; weightDecay: number; maxGradNorm: number }, learningRate = trainer.learningRate): AdamOptions {
  return { learningRate, weightDecay: trainer.weightDecay, maxGradNorm: trainer.maxGradNorm };
}

/**
 * The policy being trained (from `init.policy`) and its frozen reference (from `init.reference`, default the
 * policy's start): the first two roles of PPO, DPO and GRPO.
 *
 * @example
 * return [...policyAndReference(config), rolloutRole(config, { temperature: 1 })];
 */
export function policyAndReference(
  config: RoleContext & { init: { policy?: string | undefined; reference?: string | undefined }; trainer: { learningRate: number; weightDecay: number; maxGradNorm: number } },
): RoleRequest[] {
  return [
    modelRole(config, { name: 'policy', kind: 'policy', head: 'language', weights: weightsFrom(config, config.init.policy), optimizer: optimizerOf(config.trainer) }),
    modelRole(config, { name: 'reference', kind: 'reference', head: 'language', weights: weightsFrom(config, config.init.reference ?? config.init.policy) }),
  ];
}

/** Rollout workers: `runtime.roles.rollout.groupSize` of them (resolved: by default as many as policy ranks). */
export function rolloutRole(
  context: RoleContext,
  sampling: { temperature: number; topK?: number; topP?: number; stopAtEos?: boolean },
  scoring: Pick<RolloutWorkerInit, 'limits' | 'rewards'> = {},
): RoleRequest<'rollout'> {
  const placement = context.runtime.roles.rollout;
  const size = placement?.groupSize ?? 1;
  return {
    name: 'rollout',
    kind: 'rollout',
    size,
    ...(placement?.resources ? { resources: placement.resources } : {}),
    init: (rank: number) => ({
      role: 'rollout',
      rank,
      model: context.derived.model,
      ...(loraBase(context) ? { baseDirectory: loraBase(context) } : {}),
      task: context.task as TaskConfig,
      sampling: { temperature: sampling.temperature, ...(sampling.topK ? { topK: sampling.topK } : {}), ...(sampling.topP !== undefined && sampling.topP < 1 ? { topP: sampling.topP } : {}) },
      seed: context.seed * 1_000 + rank,
      ...(sampling.stopAtEos === false ? { stopAtEos: false } : {}),
      ...scoring,
    }),
  };
}

/** Under LoRA, the folder the policy's adapters apply to when it is not `model.from` (an earlier stage's model/). */
function loraBase(context: RoleContext): string | undefined {
  const start = context.init?.policy ?? context.init?.from;
  return context.model.lora && start !== undefined && isHfFolder(start) ? start : undefined;
}

/**
 * How the rollout workers of a stage that scores samples see them: the prompt and completion slots, and the
 * recipe's reward functions when it has any.
 *
 * @example
 * rolloutRole(config, config.rollout, scoringOf(config));
 */
export function scoringOf(config: { derived: { promptTokens: number; completionTokens: number }; rewards?: readonly RewardSpecInput[] | undefined }): Pick<RolloutWorkerInit, 'limits' | 'rewards'> {
  return {
    limits: { promptTokens: config.derived.promptTokens, completionTokens: config.derived.completionTokens },
    ...(config.rewards ? { rewards: rewardFunctionsOf(config.rewards) } : {}),
  };
}

/**
 * The rollout workers' reward functions from a config's `rewards`: module paths relative to the driver's working
 * directory wherever the workers run, shown as the user's path in metrics (`examples/rewards/math.ts#accuracy`).
 *
 * @example
 * rolloutRole(config, config.rollout, { rewards: rewardFunctionsOf(config.rewards) });
 */
export function rewardFunctionsOf(rewards: readonly RewardSpecInput[]): NonNullable<RolloutWorkerInit['rewards']> {
  return { specs: rewards.map((spec) => ({ ...spec, module: shownPath(spec.module) })), baseDir: process.cwd() };
}

/** A module path relative to the working directory when it lies below it (`examples/rewards/math.ts`), else absolute. */
function shownPath(module: string): string {
  const path = relative(process.cwd(), resolve(module));
  return path.startsWith('..') || isAbsolute(path) ? resolve(module) : path;
}
