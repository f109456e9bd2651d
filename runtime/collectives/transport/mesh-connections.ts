import net from 'node:net';
import { rootLogger } from '../../logging.ts';
import { CollectiveError, CollectiveTimeoutError } from '../errors.ts';
import { connect, describeEndpoint, isRetryableConnectError, listen, type Endpoint } from './endpoint.ts';
import { FramedConnection } from './framed-connection.ts';
import { secretsMatch, withDeadline, type PeerInfo } from './rendezvous.ts';

/**
 * How the mesh's connections are made: each rank's listener accepts its peers (checking the unique id's secret and
 * group id in the first message, `hello`), and each rank dials the ranks below it, plus, for the ring, a data link
 * to its predecessor.
 */

/** Accepts peers' connections for one rank; started before rendezvous so its endpoint can be announced. */
export class MeshListener {
  private readonly accepted = new Map<number, FramedConnection>();
  /** Ring data links dialled by this rank's successor (used here for sending to it). */
  private readonly dataLinks = new Map<number, FramedConnection>();
  private onChange: (() => void) | undefined;

  private constructor(
    private readonly server: net.Server,
    readonly endpoint: Endpoint,
  ) {}

  static async start(options: {
    endpoint: Endpoint | { host: string; port: 0 };
    secret: string;
    nonce: string;
    rank: number;
  }): Promise<MeshListener> {
    const log = rootLogger().child({ component: 'collectives', rank: options.rank });
    const server = net.createServer();
    const endpoint = await listen(server, options.endpoint);
    server.on('error', (error) => log.error({ err: error }, 'collective listener: accept failed'));
    const listener = new MeshListener(server, endpoint);
    server.on('connection', (socket) => {
      const connection = new FramedConnection(socket);
      const peer = `${socket.remoteAddress ?? 'unix'}:${socket.remotePort ?? ''}`;
      const helloTimer = setTimeout(() => connection.destroy(), 30_000);
      connection.attach({
        control: (message) => {
          clearTimeout(helloTimer);
          const rank = message.rank;
          if (message.type !== 'hello' || !secretsMatch(options.secret, message.secret) || message.nonce !== options.nonce) {
            log.warn({ peer }, 'collective connection refused: wrong secret or communicator id');
            connection.destroy();
            return;
          }
          const isDataLink = message.link === 'data';
          const taken = isDataLink ? listener.dataLinks : listener.accepted;
          if (typeof rank !== 'number' || rank === options.rank || (!isDataLink && rank < options.rank) || taken.has(rank)) {
            log.warn({ peer, claimedRank: rank }, 'collective connection refused: unexpected rank');
            connection.destroy();
            return;
          }
          connection.detach();
          connection.send({ type: 'welcome', rank: options.rank, nonce: options.nonce });
          taken.set(rank, connection);
          listener.onChange?.();
        },
        closed: () => clearTimeout(helloTimer),
      });
    });
    return listener;
  }

  /**
   * Resolves once every rank above `rank` has connected (and, with `dataLinkFrom`, that rank's data link); rejects at
   * the deadline naming who did not.
   */
  waitForPeers(options: { rank: number; worldSize: number; dataLinkFrom: number | undefined; deadline: number; timeoutMs: number }): Promise<{
    control: Map<number, FramedConnection>;
    dataLink: FramedConnection | undefined;
  }> {
    const { rank, worldSize, dataLinkFrom } = options;
    const expected = Array.from({ length: worldSize - rank - 1 }, (_, index) => rank + 1 + index);
    const missing = (): number[] => {
      const ranks = expected.filter((peer) => !this.accepted.has(peer));
      if (dataLinkFrom !== undefined && !this.dataLinks.has(dataLinkFrom) && !ranks.includes(dataLinkFrom)) ranks.push(dataLinkFrom);
      return ranks.sort((a, b) => a - b);
    };
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (missing().length > 0) return;
        clearTimeout(timer);
        this.onChange = undefined;
        resolve({ control: this.accepted, dataLink: dataLinkFrom === undefined ? undefined : this.dataLinks.get(dataLinkFrom) });
      };
      const timer = setTimeout(() => {
        const late = missing();
        reject(
          new CollectiveTimeoutError(
            `forming the group timed out after ${options.timeoutMs} ms on rank ${rank}: rank${late.length === 1 ? '' : 's'} ` +
              `${late.join(', ')} did not connect to ${describeEndpoint(this.endpoint)} (a firewall, a wrong host option, or a dead process)`,
            { ranks: late, operation: 'init' },
          ),
        );
      }, Math.max(0, options.deadline - Date.now()));
      this.onChange = check;
      check();
    });
  }

  /** Stop accepting; connections already accepted stay open. */
  close(): void {
    this.server.close(); // also unlinks a Unix socket path
  }

  /** Close everything (when forming the group failed). */
  abandon(): void {
    for (const connection of [...this.accepted.values(), ...this.dataLinks.values()]) connection.destroy();
    this.close();
  }
}

/** Connect to a lower rank and authenticate; retries while its listener is not reachable yet. */
export async function connectToPeer(options: {
  peer: PeerInfo;
  rank: number;
  secret: string;
  nonce: string;
  deadline: number;
  /** `data`: the ring data link, read without copies (see FramedConnection.dialPulling). */
  link?: 'data';
}): Promise<FramedConnection> {
  let connection: FramedConnection | undefined;
  while (connection === undefined) {
    try {
      const dialling = options.link === 'data' ? FramedConnection.dialPulling(options.peer.endpoint) : connect(options.peer.endpoint).then((socket) => new FramedConnection(socket));
      connection = await withDeadline(dialling, options.deadline, (pending) => pending.then((late) => late.destroy(), () => {}));
    } catch (error) {
      if (!isRetryableConnectError(error) || Date.now() + 50 >= options.deadline) {
        throw new CollectiveError(
          'COLLECTIVE_RENDEZVOUS_FAILED',
          `rank ${options.rank} could not connect to rank ${options.peer.rank} at ${describeEndpoint(options.peer.endpoint)} ` +
            `(host ${options.peer.hostname}, pid ${options.peer.pid}): ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
          { ranks: [options.peer.rank], operation: 'init', cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const welcomed = new Promise<void>((resolve, reject) => {
    connection.attach({
      control: (message) => {
        if (message.type === 'welcome' && message.rank === options.peer.rank && message.nonce === options.nonce) {
          connection.detach();
          resolve();
        }
      },
      closed: () =>
        reject(
          new CollectiveError('COLLECTIVE_RENDEZVOUS_FAILED', `rank ${options.peer.rank} refused the connection from rank ${options.rank}`, {
            ranks: [options.peer.rank],
            operation: 'init',
          }),
        ),
    });
  });
  connection.send({ type: 'hello', secret: options.secret, nonce: options.nonce, rank: options.rank, ...(options.link ? { link: options.link } : {}) });
  try {
    await withDeadline(welcomed, options.deadline, () => connection.destroy());
  } catch (error) {
    connection.destroy();
    if (error instanceof CollectiveError) throw error;
    throw new CollectiveTimeoutError(`rank ${options.peer.rank} did not answer rank ${options.rank}'s hello before the deadline`, {
      ranks: [options.peer.rank],
      operation: 'init',
    });
  }
  return connection;
}

