/**
 * How many ranks each role of a method runs, decided in one place. `runtime.roles.<name>` may name only the
 * method's own roles (a misspelt `polciy` is an error that lists them); a trainable role runs `groupSize`
 * data-parallel ranks (default 1); a role that can only run one rank says why when asked for more; rollout
 * workers default to as many as the policy has ranks, also when their entry only sets resources or spares.
 *
 * The resolved sizes replace `runtime.roles` in the parsed config (every role of the method, with its size), so
 * the role requests, the cross-field checks and `config.json` all read the same numbers.
 */
import type { z } from 'zod';
import type { Resources } from '../runtime/index.ts';
import type { RuntimeConfig } from './config-sections.ts';

/** How a role's rank count is decided. */
export type RoleSizing =
  /** A trainable role: `groupSize` data-parallel ranks whose gradients are averaged (default 1). */
  | { name: string; ranks: 'data-parallel' }
  /** Exactly one rank; `reason` is shown when the config asks for more. */
  | { name: string; ranks: 'one'; reason: string }
  /** Rollout workers: `groupSize`, default the policy's ranks (each worker generates a share of the prompts). */
  | { name: string; ranks: 'as-policy' };

/** A trainable role with data-parallel ranks. */
export const trainableRole = (name: string): RoleSizing => ({ name, ranks: 'data-parallel' });
/** A frozen model role: it takes no optimizer step, so there are no gradients to average over ranks. */
export const frozenRole = (name: string): RoleSizing => ({
  name,
  ranks: 'one',
  reason: `${name} is frozen (it takes no optimizer steps), so it runs one rank that scores every rollout shard`,
});
/** Rollout workers that follow the policy's rank count unless set. */
export const ROLLOUT_ROLE: RoleSizing = { name: 'rollout', ranks: 'as-policy' };

/** One role as the parsed config holds it: its resolved rank count, reservation and warm spares. */
export interface ResolvedRole {
  /** Ranks this role runs (resolved: see `RoleSizing`). */
  groupSize: number;
  /** Each rank's reservation (default { CPU: 1 }). */
  resources?: Resources;
  /** Idle workers with the model loaded (default 0). */
  spares: number;
}

/** `runtime.roles` after parsing: every role of the method, resolved. */
export type ResolvedRoles = Record<string, ResolvedRole>;

/**
 * Checks `runtime.roles` against the method's roles and resolves every role's size; problems are added to
 * `context` (paths under `runtime.roles`) with the values and the reason.
 *
 * @example
 * const roles = resolveRoleSizes('dpo', [trainableRole('policy'), frozenRole('reference'), ROLLOUT_ROLE], config.runtime, context);
 * roles.rollout.groupSize;   // the policy's ranks unless runtime.roles.rollout.groupSize says otherwise
 */
export function resolveRoleSizes(method: string, sizing: readonly RoleSizing[], runtime: RuntimeConfig, context: z.RefinementCtx): ResolvedRoles {
  const names = sizing.map((role) => role.name);
  for (const name of Object.keys(runtime.roles)) {
    if (!names.includes(name)) {
      context.addIssue({ code: 'custom', path: ['runtime', 'roles', name], message: `unknown role "${name}": the ${method} trainer's roles are ${names.join(', ')}` });
    }
  }
  const configured = (name: string) => runtime.roles[name]?.groupSize;
  const policyRanks = configured('policy') ?? 1;
  const resolved: ResolvedRoles = {};
  for (const role of sizing) {
    const entry = runtime.roles[role.name];
    const asked = configured(role.name);
    let groupSize: number;
    if (role.ranks === 'one') {
      if (asked !== undefined && asked > 1) {
        context.addIssue({ code: 'custom', path: ['runtime', 'roles', role.name, 'groupSize'], message: `groupSize ${asked} cannot be used: ${role.reason}; leave it out or set 1` });
      }
      groupSize = 1;
    } else if (role.ranks === 'as-policy') {
      groupSize = asked ?? policyRanks;
    } else {
      groupSize = asked ?? 1;
    }
    resolved[role.name] = { groupSize, ...(entry?.resources ? { resources: entry.resources } : {}), spares: entry?.spares ?? 0 };
  }
  return resolved;
}
