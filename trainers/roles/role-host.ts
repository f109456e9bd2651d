/**
 * The actor class every role runs in. A host is one worker process; it holds one or more role objects (policy,
 * reference, reward, value, rollout), so that roles can be colocated in one process (the fastest layout on a
 * 2-core laptop: no copies, no oversubscription) or spread one role per process (how it scales) by configuration
 * alone. The driver never calls a role object directly: `RoleGroup` turns `group.callAll('trainPolicy', ...)`
 * into `host.invoke('policy', 'trainPolicy', [...])` on each rank's host.
 */
import { initEngine, type BackendName, type EngineChoice } from '../../models/engine.ts';
import { modelParameterCount } from '../../models/model-spec.ts';
import { collectiveMetricsSnapshot } from '../../runtime/collectives/collective-metrics.ts';
import { PosttrainError } from '../../runtime/errors.ts';
import { actorContext } from '../../runtime/index.ts';
import { RolloutWorker } from '../../rollout/rollout-worker.ts';
import { PolicyRole } from './policy-role.ts';
import { ReferenceRole } from './reference-role.ts';
import { RewardRole } from './reward-role.ts';
import { ValueRole } from './value-role.ts';

/** The role classes a host can hold, by kind. */
export const ROLE_CLASSES = {
  policy: PolicyRole,
  reference: ReferenceRole,
  reward: RewardRole,
  value: ValueRole,
  rollout: RolloutWorker,
} as const;

export type RoleKind = keyof typeof ROLE_CLASSES;
export type RoleInstance<K extends RoleKind> = InstanceType<(typeof ROLE_CLASSES)[K]>;
export type RoleInit<K extends RoleKind> = ConstructorParameters<(typeof ROLE_CLASSES)[K]>[0];

export interface RoleHostOptions {
  /** Tensor backend, or `auto`. */
  backend: BackendName | 'auto';
  /** wasm threads in this process. */
  threads: number;
}

export class RoleHost {
  private readonly options: RoleHostOptions;
  private readonly roles = new Map<string, { kind: RoleKind; instance: object }>();
  private engine: EngineChoice | undefined;

  constructor(options: RoleHostOptions) {
    this.options = options;
  }

  /**
   * Starts the tensor engine (once, told the size of this role's model, which every role of a stage shares: on
   * `auto` a model too big for the wasm heap runs on cpu, and the engine's log line says so) and constructs a
   * role object under `name`.
   */
  async addRole<K extends RoleKind>(name: string, kind: K, init: RoleInit<K>): Promise<EngineChoice> {
    if (this.roles.has(name)) throw new PosttrainError('ROLE_EXISTS', `this host already holds a role named ${name}`, { path: name });
    const RoleClass = ROLE_CLASSES[kind] as unknown as new (init: RoleInit<K>) => object;
    if (!RoleClass) throw new PosttrainError('ROLE_UNKNOWN', `unknown role kind ${JSON.stringify(kind)}; known: ${Object.keys(ROLE_CLASSES).join(', ')}`);
    this.engine ??= await initEngine({ backend: this.options.backend, threads: this.options.threads, modelParameters: modelParameterCount(init.model) });
    this.roles.set(name, { kind, instance: new RoleClass(init) });
    actorContext().logger.debug({ role: name, kind, backend: this.engine.backend, threads: this.engine.threads }, 'role ready');
    return this.engine;
  }

  /** Calls `method` of role `name` with `args`; ObjectRefs inside `args` are borrowed for the call. */
  async invoke(name: string, method: string, args: unknown[]): Promise<unknown> {
    const entry = this.roles.get(name);
    if (!entry) throw new PosttrainError('ROLE_MISSING', `this host holds no role named ${name}; it holds ${[...this.roles.keys()].join(', ') || 'none'}`, { path: name });
    const target = (entry.instance as Record<string, unknown>)[method];
    if (typeof target !== 'function' || method.startsWith('_') || method === 'constructor') {
      throw new PosttrainError('ROLE_METHOD_UNKNOWN', `role ${name} (${entry.kind}) has no method ${method}`, { path: `${name}.${method}` });
    }
    return (target as (...values: unknown[]) => unknown).apply(entry.instance, args);
  }

  /** Drops role `name` and frees its tensors. */
  async removeRole(name: string): Promise<void> {
    const entry = this.roles.get(name);
    if (!entry) return;
    this.roles.delete(name);
    await (entry.instance as { dispose?: () => Promise<void> }).dispose?.();
  }

  /** Role names held here. */
  async roleNames(): Promise<string[]> {
    return [...this.roles.keys()];
  }

  /** This process's collective timings (prom-client JSON), which the driver serves on its `/metrics`. */
  async metricsSnapshot(): Promise<Awaited<ReturnType<typeof collectiveMetricsSnapshot>>> {
    return collectiveMetricsSnapshot();
  }
}
