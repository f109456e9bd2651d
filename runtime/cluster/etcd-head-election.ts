import { Etcd3, type Campaign } from 'etcd3';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.ts';

/** Where a head keeps its state in etcd, and how fast a standby takes over. */
export interface HeadEtcdOptions {
  /** Client URLs of the etcd members, e.g. `['http://10.0.0.1:2379', 'http://10.0.0.2:2379', 'http://10.0.0.3:2379']`. */
  endpoints: string[];
  /** Key prefix of this cluster in etcd (default `posttrain/`): several clusters can share one etcd. */
  prefix?: string;
  /**
   * Seconds the leader's lease outlives its last keep-alive (default 10): a standby takes over this long after the
   * leader's machine died. etcd raises anything below 1.5 election timeouts (1.5 s with its defaults).
   */
  leaseTtlSeconds?: number;
}

/**
 * Validate `--etcd` style endpoints: `http(s)://host:port` each.
 *
 * @example
 * parseEtcdEndpoints('http://10.0.0.1:2379,http://10.0.0.2:2379'); // ['http://10.0.0.1:2379', 'http://10.0.0.2:2379']
 */
export function parseEtcdEndpoints(list: string, path = '--etcd'): string[] {
  const endpoints = list.split(',').map((part) => part.trim());
  const bad = endpoints.filter((endpoint) => !/^https?:\/\/[^\s/]+:\d{1,5}$/.test(endpoint));
  if (bad.length > 0) throw new ConfigError([{ path, message: `'${bad.join(', ')}' is not an etcd client URL: give http://host:port of each member, comma-separated` }]);
  return endpoints;
}

/**
 * A head's place in the election among the heads of one cluster (etcd3's Election: each candidate puts a key under
 * `<prefix>election/head/` attached to its lease; the oldest key leads). `campaign` resolves once this head leads;
 * until then it is a standby that serves nothing. The leader's key is the fence of its control store: when its lease
 * is lost (its machine died, or it was cut off from etcd for a lease TTL), the key goes, the next standby is elected,
 * and every write the old leader still tries fails. `onLost` tells the leader it no longer leads; it must stop
 * serving, since node agents and drivers follow whichever head answers.
 *
 * @example
 * const election = await HeadElection.campaign({ endpoints: ['http://10.0.0.1:2379'] }, 'grpc:10.0.0.5:6380', logger);
 * election.onLost((reason) => process.exit(1));
 * const store = await EtcdControlStore.open({ client: election.client, prefix: election.prefix, fenceKey: election.key });
 */
export class HeadElection {
  private lostHandler: (reason: string) => void = () => {};
  private lost = false;

  private constructor(
    readonly client: Etcd3,
    readonly prefix: string,
    /** The leader's key in etcd: the control store's fence. */
    readonly key: string,
    private readonly candidacy: Campaign,
  ) {
    candidacy.on('error', (error) => this.lose(`its etcd lease was lost: ${error.message}`));
  }

  /** Stand for election with `address` as this head's value; resolves when elected. */
  static async campaign(options: HeadEtcdOptions, address: string, logger: Logger): Promise<HeadElection> {
    const prefix = options.prefix ?? 'posttrain/';
    const client = new Etcd3({ hosts: options.endpoints, dialTimeout: 3_000 });
    try {
      const election = client.namespace(prefix).election('head', options.leaseTtlSeconds ?? 10);
      const leader = await election.leader();
      const candidacy = election.campaign(address);
      if (leader !== undefined) logger.info({ leader, etcd: options.endpoints }, `head standing by: ${leader} leads; ${address} takes over when its lease in etcd expires`);
      await candidacy.wait();
      const key = await candidacy.getCampaignKey();
      logger.info({ key, etcd: options.endpoints }, `elected leader of the cluster's heads (${address})`);
      return new HeadElection(client, prefix, key, candidacy);
    } catch (error) {
      client.close();
      throw new ConfigError([{ path: 'etcd.endpoints', message: `cannot stand for election in etcd at ${options.endpoints.join(',')}: ${(error as Error).message}` }]);
    }
  }

  onLost(handler: (reason: string) => void): void {
    this.lostHandler = handler;
  }

  /** Leadership ended from outside (lease lost, or the store found its fence key gone): tell the head once. */
  lose(reason: string): void {
    if (this.lost) return;
    this.lost = true;
    this.lostHandler(reason);
  }

  /** Give up leadership now (a clean stop): a standby takes over at once instead of after the lease TTL. */
  async resign(): Promise<void> {
    this.lost = true;
    await this.candidacy.resign().catch(() => {});
    this.client.close();
  }
}
