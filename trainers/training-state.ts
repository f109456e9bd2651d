/**
 * A run's whole training state at the end of a step, gathered from its roles and its driver: what a checkpoint
 * holds, and what a fail-over restores. Which roles hold state follows from how they were launched:
 *
 * - trainable model roles (launched with an optimizer): flat weights, weight version, Adam step and moments.
 *   Data-parallel ranks are replicas (the allreduce leaves them bitwise equal after every step), so rank 0's
 *   state is the state of every rank; a sharded optimizer would save one shard per rank instead.
 * - rollout workers: each rank's sampling RNG, so a resumed run samples exactly what the original would have.
 * - the driver: whatever the trainer hands over (its minibatch Rng, KL controller, running totals).
 *
 * Frozen roles (reference, reward model) need nothing: they are rebuilt from the same model files. The data
 * cursor is the step itself (prompt and example indices are a pure function of seed and step).
 */
import { PosttrainError } from '../runtime/errors.ts';
import type { RoleGroup, RoleSet } from './role-groups.ts';
import type { RoleSnapshot } from './roles/model-role.ts';

export interface TrainingState {
  /** The last completed step (0 before the first). */
  step: number;
  /** Each trainable role's state, from rank 0 (ranks are replicas). */
  roles: Record<string, RoleSnapshot>;
  /** Each rollout role's sampling RNG state, one per rank. */
  samplers: Record<string, number[][]>;
  /** The trainer's own state on the driver, JSON-safe. */
  driver: object;
}

/** Names of the roles that hold state: trainable model roles and rollout workers. */
export function statefulRoles(roles: RoleSet): { trainable: string[]; samplers: string[] } {
  const trainable: string[] = [];
  const samplers: string[] = [];
  for (const layout of roles.layouts) {
    for (const member of layout.members) {
      if (member.kind === 'rollout') samplers.push(member.name);
      else if ((member.init(0) as { optimizer?: unknown }).optimizer !== undefined) trainable.push(member.name);
    }
  }
  return { trainable, samplers };
}

/**
 * Reads the state of every stateful role (in parallel) and pairs it with the driver's.
 *
 * @example
 * const state = await captureTrainingState(roles, step, { rng: rng.state(), klController: kl.state() });
 */
export async function captureTrainingState(roles: RoleSet, step: number, driver: object): Promise<TrainingState> {
  const { trainable, samplers } = statefulRoles(roles);
  const [snapshots, rngStates] = await Promise.all([
    Promise.all(trainable.map((name) => (roles.groups.get(name) as RoleGroup<'policy'>).callRank(0, 'snapshot'))),
    Promise.all(samplers.map((name) => (roles.groups.get(name) as RoleGroup<'rollout'>).callAll('rngState'))),
  ]);
  return {
    step,
    roles: Object.fromEntries(trainable.map((name, index) => [name, snapshots[index]!])),
    samplers: Object.fromEntries(samplers.map((name, index) => [name, rngStates[index]!])),
    driver,
  };
}

/**
 * Puts every stateful role back to `state`: each trainable role's snapshot on every rank, each rollout rank's RNG.
 * Throws `TRAINING_STATE_MISMATCH` naming the role when the state does not fit the launched roles.
 */
export async function restoreTrainingState(roles: RoleSet, state: TrainingState): Promise<void> {
  const { trainable, samplers } = statefulRoles(roles);
  const work: Promise<unknown>[] = [];
  for (const name of trainable) {
    const snapshot = state.roles[name];
    if (!snapshot) throw mismatch(name, `the saved state has no role ${name} (it has ${Object.keys(state.roles).join(', ') || 'none'})`);
    work.push((roles.groups.get(name) as RoleGroup<'policy'>).callAll('restore', snapshot));
  }
  for (const name of samplers) {
    const group = roles.groups.get(name) as RoleGroup<'rollout'>;
    const states = state.samplers[name];
    if (!states || states.length !== group.size) {
      throw mismatch(name, `the saved state has ${states?.length ?? 0} sampler states for ${name}, the run has ${group.size} ranks; resume with runtime.roles.${name}.groupSize ${states?.length ?? 0}`);
    }
    work.push(group.scatter('setRngState', states.map((rngState) => [rngState] as [number[]])));
  }
  await Promise.all(work);
}

function mismatch(role: string, message: string): PosttrainError {
  return new PosttrainError('TRAINING_STATE_MISMATCH', message, { path: `runtime.roles.${role}` });
}
