import { ConfigError } from '../errors.ts';
import type { ControlPlane } from '../control/control-plane.ts';
import type { ObjectClient, RefData } from '../object-store/object-client.ts';
import { ObjectRef } from '../object-store/object-ref.ts';
import { decodeValue, encodeValue, viewBuffer, type EncodedValue, type ValueHooks } from '../value-codec.ts';
import type { Frame } from '../transport/transport.ts';
import type { Logger } from 'pino';

/** Wire form of an actor handle passed as an argument (so actor A can call actor B directly). */
export interface ActorHandleData {
  actorId: string;
  displayName: string;
  role: string;
  maxTaskRetries: number;
}

/** Anything that can be sent as a handle: implemented by `ActorHandle`. */
export interface SendableHandle {
  toData(): ActorHandleData;
}

/** The per-process services handles, refs and the actor host share. */
export interface ProcessServices {
  /** `driver` or the worker's id (`w3`). */
  clientId: string;
  /** `driver` or the actor's name. */
  clientName: string;
  control: ControlPlane;
  objects: ObjectClient;
  logger: Logger;
  /** Rebuild a handle that arrived in a value. */
  handleFromData(data: ActorHandleData): unknown;
  isHandle(value: object): value is SendableHandle;
  /** Call latency observer (the driver feeds its metrics registry). */
  observeCall?(role: string, method: string, seconds: number): void;
  /** Cluster mode: the node this process runs on (calls to actors on it use their local address). */
  nodeId?: string;
}

/**
 * Encoding of call arguments and results: refs are announced as transfers to the receiving process (so the
 * object stays alive while in flight) and handles travel as ids.
 */
export function encodeForPeer(services: ProcessServices, value: unknown, target: string | undefined, sentRefs?: ObjectRef<unknown>[]): EncodedValue {
  const hooks: ValueHooks = {
    encodeSpecial(object) {
      if (object instanceof ObjectRef) {
        if (target === undefined) {
          throw new ConfigError([
            { path: 'args', message: 'an ObjectRef cannot be a constructor argument (the constructor re-runs on restart, after the ref may be gone); pass it to a method instead' },
          ]);
        }
        sentRefs?.push(object);
        return { tag: 'ref', data: services.objects.encodeRef(object, target) };
      }
      if (services.isHandle(object)) return { tag: 'actor', data: object.toData() };
      return undefined;
    },
  };
  return encodeValue(value, hooks);
}

export function decodeFromPeer(services: ProcessServices, frame: Frame, receivedRefs?: ObjectRef<unknown>[]): unknown {
  return decodeValue(frame.body, (index, kind) => viewBuffer(frame.buffers[index] as Uint8Array, kind), {
    decodeSpecial(tag, data) {
      if (tag === 'ref') {
        const ref = services.objects.decodeRef(data as RefData);
        receivedRefs?.push(ref);
        return ref;
      }
      if (tag === 'actor') return services.handleFromData(data as ActorHandleData);
      throw new Error(`cannot decode '${tag}'`);
    },
  });
}
