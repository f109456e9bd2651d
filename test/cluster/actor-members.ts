import { PosttrainError } from '../../runtime/errors.ts';
import type { ActorHandle, Runtime } from '../../runtime/index.ts';
import { RemoteError, reusingPool, type Member, type MemberPool } from '../runtime/collectives/members.ts';
import type { CollectiveRank } from './fixtures/collective-actor.ts';

const rankModule = new URL('./fixtures/collective-actor.ts', import.meta.url);

/** A collective failure inside the actor travels as JSON in the message (see `collective-actor.ts`). */
function remote(error: unknown): never {
  if (error instanceof PosttrainError && error.message.startsWith('{')) {
    const data = JSON.parse(error.message) as { name: string; message: string; ranks?: number[] };
    throw new RemoteError({ name: data.name, code: error.code, message: data.message, ...(data.ranks === undefined ? {} : { ranks: data.ranks }) });
  }
  throw error;
}

/** A conformance-suite member that is an actor on a cluster node. */
class ActorMember implements Member {
  alive = true;

  constructor(
    private readonly handle: ActorHandle<CollectiveRank>,
    readonly label: string,
    readonly host: string,
  ) {}

  createUniqueId(options: Parameters<Member['createUniqueId']>[0]): Promise<string> {
    return this.handle.call('createUniqueId', options).catch(remote);
  }
  async join(uniqueId: string, options: Parameters<Member['join']>[1]): Promise<void> {
    await this.handle.call('join', uniqueId, options).catch(remote);
  }
  allreduce(data: Float32Array, options = {}): Promise<Float32Array> {
    return this.handle.call('allreduce', data, options).catch(remote);
  }
  broadcast(data: Float32Array, root: number, options = {}): Promise<Float32Array> {
    return this.handle.call('broadcast', data, root, options).catch(remote);
  }
  allgather(data: Float32Array, options = {}): Promise<Float32Array> {
    return this.handle.call('allgather', data, options).catch(remote);
  }
  reduceScatter(data: Float32Array, options = {}): Promise<Float32Array> {
    return this.handle.call('reduceScatter', data, options).catch(remote);
  }
  async barrier(options = {}): Promise<void> {
    await this.handle.call('barrier', options).catch(remote);
  }
  async destroy(): Promise<void> {
    if (this.alive) await this.handle.call('destroy');
  }
  async crash(): Promise<void> {
    this.alive = false;
    await this.handle.kill();
  }
}

/**
 * Collective ranks as actors spread round-robin over the cluster's nodes (pinned with the `node:<id>` resource every
 * cluster node offers), for running the collectives conformance suite across machines.
 *
 * @example
 * collectiveConformance(() => actorPool(runtime, [{ nodeId: 'node-0', host: '198.18.7.2' }, { nodeId: 'node-1', host: '198.18.7.3' }]));
 */
export function actorPool(runtime: Runtime, nodes: { nodeId: string; host: string }[]): MemberPool {
  let created = 0;
  const all: ActorMember[] = [];
  const make = async (): Promise<ActorMember> => {
    const index = created++;
    const node = nodes[index % nodes.length] as { nodeId: string; host: string };
    const handle = await runtime.createActor<typeof CollectiveRank>({ module: rankModule, exportName: 'CollectiveRank', role: 'rank', resources: { CPU: 0.1, [`node:${node.nodeId}`]: 0.01 } });
    const member = new ActorMember(handle, `actor rank ${index} on ${node.nodeId} (${node.host})`, node.host);
    all.push(member);
    return member;
  };
  return reusingPool('tcp', 'actors on cluster nodes', make, () => Promise.all(all.filter((member) => member.alive).map((member) => member.crash())));
}
