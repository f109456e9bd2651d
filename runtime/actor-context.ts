import type { Logger } from 'pino';
import { PosttrainError } from './errors.ts';
import type { Runtime } from './runtime.ts';

/** What an actor knows about itself. */
export interface ActorContext {
  /** The runtime, seen from inside this actor: put/get objects, call or create other actors. */
  runtime: Runtime;
  actorId: string;
  /** The actor's name (or `<role>-<id>`). */
  name: string;
  role: string;
  namespace?: string;
  /** 1 for the first process, 2 after the first restart, ... */
  incarnation: number;
  nodeId: string;
  /** Devices in `CUDA_VISIBLE_DEVICES`. */
  gpuIds: string[];
  /** Set for members of an actor group. */
  group?: { name: string; rank: number; size: number };
  /** Logger whose lines carry node, actor and role. */
  logger: Logger;
}

let current: ActorContext | undefined;

/**
 * The context of the actor this code runs in. Valid from the constructor on; throws outside an actor process.
 *
 * @example
 * export class RolloutActor {
 *   async generate(weightsRef: ObjectRef<Float32Array>) {
 *     const { runtime, logger } = actorContext();
 *     const weights = await weightsRef.get();
 *     logger.info({ size: weights.length }, 'loaded weights');
 *     return runtime.put({ tokens: new Int32Array(16) }); // owned by this actor, not the driver
 *   }
 * }
 */
export function actorContext(): ActorContext {
  if (!current) throw new PosttrainError('NOT_IN_ACTOR', 'actorContext() is only available inside an actor process');
  return current;
}

/** True inside an actor process. */
export function inActor(): boolean {
  return current !== undefined;
}

/** Set by the worker bootstrap before the actor's module loads. */
export function setActorContext(context: ActorContext): void {
  current = context;
}
