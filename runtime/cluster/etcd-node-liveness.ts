import { Etcd3, type Lease, type Watcher } from 'etcd3';
import type { Logger } from 'pino';

/**
 * Where node agents keep their liveness leases: the head (in etcd mode) sends this with its registration reply, so
 * `recipe cluster join` needs no etcd flag of its own.
 */
export interface NodeLivenessSettings {
  /** Client URLs of the etcd members. */
  endpoints: string[];
  /** `<cluster prefix>node-leases/`: one key per node, `<prefix><node id>` = its epoch. */
  prefix: string;
  /** Seconds a lease outlives its agent's last keep-alive: the head's node timeout, rounded up. */
  ttlSeconds: number;
}

/**
 * A node agent's liveness in etcd: a key `<prefix><node id>` holding its current epoch, attached to a lease the agent
 * keeps alive itself (etcd3's Lease renews it every third of its TTL). It does not depend on any head: while no head
 * leads (a fail-over), a node that dies still loses its key one TTL later, and the head elected next declares it dead
 * at once instead of waiting a node timeout of its own (`NodeLeaseWatch`). A clean stop revokes the lease, so the
 * head learns of it immediately.
 *
 * @example
 * const lease = new NodeLivenessLease(settings, 'gpu-0', logger);
 * await lease.hold(7); // after registering as epoch 7
 * await lease.close();
 */
export class NodeLivenessLease {
  private readonly client: Etcd3;
  private lease: Lease | undefined;
  private epoch: number | undefined;
  private closed = false;

  constructor(
    private readonly settings: NodeLivenessSettings,
    private readonly nodeId: string,
    private readonly logger: Logger,
  ) {
    this.client = new Etcd3({ hosts: settings.endpoints, dialTimeout: 3_000 });
  }

  /** Publish `epoch` under a live lease (granting one, or a new one after the last was lost). */
  async hold(epoch: number): Promise<void> {
    this.epoch = epoch;
    if (this.closed) return;
    if (!this.lease) {
      const lease = this.client.lease(this.settings.ttlSeconds, { autoKeepAlive: true });
      this.lease = lease;
      lease.on('lost', (error) => {
        if (this.lease !== lease || this.closed) return;
        this.lease = undefined;
        this.logger.warn({ err: error.message }, 'lost this node\'s liveness lease in etcd (the head declares the node dead and fences it); granting a new one');
        if (this.epoch !== undefined) void this.hold(this.epoch).catch(() => {});
      });
    }
    await this.lease.put(`${this.settings.prefix}${this.nodeId}`).value(String(epoch));
  }

  /** Revoke the lease (the key goes with it) and close the client. */
  async close(): Promise<void> {
    this.closed = true;
    await this.lease?.revoke().catch(() => {});
    this.client.close();
  }
}

/** What the lease watch needs from the head (`ClusterHead`). */
export interface LeasedNodes {
  liveNodeEpochs(): Map<string, number>;
  nodeLeaseExpired(nodeId: string, epoch: number, why: string): void;
}

/**
 * The head's side. When a head takes over (after `recover`), a node it took back whose lease is gone died while no
 * head led: it is declared dead at once, not after a node timeout of this head's. From then on, every lease that
 * ends declares its registration dead.
 *
 * @example
 * const watch = await NodeLeaseWatch.takeOver(election.client, settings, head);
 * watch.close();
 */
export class NodeLeaseWatch {
  private constructor(private readonly watcher: Watcher) {}

  static async takeOver(client: Etcd3, settings: NodeLivenessSettings, head: LeasedNodes): Promise<NodeLeaseWatch> {
    const { prefix, ttlSeconds } = settings;
    const keys = await client.getAll().prefix(prefix).strings();
    const holders = new Map(Object.entries(keys).map(([key, epoch]) => [key.slice(prefix.length), Number(epoch)]));
    for (const [nodeId, epoch] of head.liveNodeEpochs()) {
      if (holders.get(nodeId) !== epoch) head.nodeLeaseExpired(nodeId, epoch, 'its liveness lease in etcd was gone when this head took over');
    }
    const watcher = await client.watch().prefix(prefix).withPreviousKV().create();
    watcher.on('delete', (entry, previous) => {
      if (!previous) return;
      const why = `its liveness lease in etcd ended (no keep-alive from its agent for ${ttlSeconds} s, or it stopped)`;
      head.nodeLeaseExpired(entry.key.toString('utf8').slice(prefix.length), Number(previous.value.toString('utf8')), why);
    });
    return new NodeLeaseWatch(watcher);
  }

  close(): void {
    void this.watcher.cancel().catch(() => {});
  }
}
