import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { timingSafeEqual } from 'node:crypto';
import { rootLogger } from '../../logging.ts';
import { CollectiveError, CollectiveTimeoutError } from '../errors.ts';
import { connect, describeEndpoint, isRetryableConnectError, listen, type Endpoint } from './endpoint.ts';
import { FramedConnection } from './framed-connection.ts';

/**
 * Rendezvous: how `worldSize` ranks that know only a unique id find each other (NCCL's bootstrap root).
 *
 * The process that creates the unique id runs a small root server at the address the id names. Each rank connects,
 * proves it holds the id's secret, and sends `join { rank, worldSize, endpoint }` (the endpoint its peers should
 * connect to). The root checks that ranks are unique and agree on `worldSize`, tells everyone who has joined so far
 * (so a rank that times out can name who is missing), and once all have joined sends every rank the full table and
 * closes. The root serves one group only: a new group (after a member dies) needs a new unique id.
 */

/** A rank's entry in the table every member receives. */
export interface PeerInfo {
  rank: number;
  endpoint: Endpoint;
  hostname: string;
  pid: number;
}

/** Compare secrets in constant time. */
export function secretsMatch(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const left = Buffer.from(expected);
  const right = Buffer.from(given);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Start a root for one group. It lives until the group has formed or `timeoutMs` passes, and never keeps the
 * process alive on its own (a process that exits takes its root with it, and ranks then fail with a clear error).
 */
export async function startRendezvousRoot(options: { listen: Endpoint | { host: string; port: 0 }; secret: string; timeoutMs: number }): Promise<Endpoint> {
  const log = rootLogger().child({ component: 'collectives', role: 'rendezvous-root' });
  const joined = new Map<number, { connection: FramedConnection; info: PeerInfo }>();
  let worldSize: number | undefined;
  let finished = false;
  const server = net.createServer();
  const endpoint = await listen(server, options.listen);
  server.unref();
  // After listening, an accept error (e.g. out of file descriptors) must not crash the process that hosts the root.
  server.on('error', (error) => log.error({ err: error }, 'collective rendezvous root: accept failed'));

  const finish = (): void => {
    finished = true;
    clearTimeout(timer);
    server.close();
    if ('path' in endpoint) liveSocketPaths.delete(endpoint.path);
  };
  if ('path' in endpoint) trackSocketPath(endpoint.path);
  const timer = setTimeout(() => {
    const missing = worldSize === undefined ? [] : ranksMissing(joined, worldSize);
    for (const { connection } of joined.values()) {
      connection.send({ type: 'failed', code: 'COLLECTIVE_TIMEOUT', missing, message: `ranks ${missing.join(', ')} did not join within ${options.timeoutMs} ms` });
      connection.end();
    }
    finish();
  }, options.timeoutMs);
  timer.unref();

  const broadcastProgress = (): void => {
    const ranks = [...joined.keys()].sort((a, b) => a - b);
    for (const { connection } of joined.values()) connection.send({ type: 'progress', joined: ranks, worldSize });
  };

  server.on('connection', (socket) => {
    socket.unref();
    const connection = new FramedConnection(socket);
    let rank: number | undefined;
    const refuse = (message: string): void => {
      connection.send({ type: 'failed', code: 'COLLECTIVE_RENDEZVOUS_FAILED', message });
      connection.end();
    };
    const helloTimer = setTimeout(() => connection.destroy(), Math.min(options.timeoutMs, 30_000));
    helloTimer.unref();
    connection.attach({
      control: (message) => {
        if (message.type !== 'join' || rank !== undefined || finished) return;
        clearTimeout(helloTimer);
        if (!secretsMatch(options.secret, message.secret)) {
          log.warn({ peer: `${socket.remoteAddress}:${socket.remotePort}` }, 'collective rendezvous: join with a wrong secret refused');
          connection.destroy();
          return;
        }
        const info = message.info as PeerInfo;
        const size = message.worldSize as number;
        if (!Number.isInteger(info?.rank) || !Number.isInteger(size)) return refuse('join message lacks rank or worldSize');
        if (worldSize !== undefined && size !== worldSize) {
          return refuse(`rank ${info.rank} joined with worldSize ${size}, but the ranks before it said ${worldSize}`);
        }
        const existing = joined.get(info.rank);
        if (existing) {
          return refuse(`rank ${info.rank} has already joined (host ${existing.info.hostname}, pid ${existing.info.pid}); every rank number must be used once`);
        }
        worldSize = size;
        rank = info.rank;
        joined.set(info.rank, { connection, info });
        if (joined.size < size) {
          broadcastProgress();
          return;
        }
        const table = [...joined.values()].map((entry) => entry.info).sort((a, b) => a.rank - b.rank);
        for (const member of joined.values()) {
          member.connection.send({ type: 'table', peers: table });
          member.connection.end();
        }
        finish();
      },
      closed: () => {
        clearTimeout(helloTimer);
        if (finished || rank === undefined || joined.get(rank)?.connection !== connection) return;
        joined.delete(rank);
        broadcastProgress();
      },
    });
  });
  return endpoint;
}

/** Unix socket paths of roots still open; a process that exits with one open must not leave its file behind. */
const liveSocketPaths = new Set<string>();
let exitHookInstalled = false;

function trackSocketPath(socketPath: string): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const path of liveSocketPaths) fs.rmSync(path, { force: true });
    });
  }
  liveSocketPaths.add(socketPath);
}

function ranksMissing(joined: Map<number, unknown>, worldSize: number): number[] {
  return Array.from({ length: worldSize }, (_, rank) => rank).filter((rank) => !joined.has(rank));
}

/**
 * Join the group at `root`: retry the connection until the deadline (the root may not be listening yet), then
 * start this rank's own listener with `listenForPeers(localAddress)` (the local address that reaches the root is
 * the right default interface for peers too), send `join`, and resolve with the table of all ranks.
 */
export async function joinRendezvous(options: {
  root: Endpoint;
  secret: string;
  rank: number;
  worldSize: number;
  deadline: number;
  timeoutMs: number;
  listenForPeers(localAddress: string | undefined): Promise<Endpoint>;
}): Promise<PeerInfo[]> {
  const where = describeEndpoint(options.root);
  const operation = 'init';
  let lastError: unknown;
  let socket: net.Socket | undefined;
  while (socket === undefined) {
    try {
      socket = await withDeadline(connect(options.root), options.deadline, (pending) => pending.then((late) => late.destroy(), () => {}));
    } catch (error) {
      lastError = error;
      if (error instanceof DeadlinePassed || !isRetryableConnectError(error) || Date.now() + 100 >= options.deadline) {
        throw new CollectiveError(
          'COLLECTIVE_RENDEZVOUS_FAILED',
          `rank ${options.rank} could not reach the rendezvous root at ${where} (${describeError(lastError)}). The process that ` +
            'created the unique id must stay alive and reachable until every rank has joined.',
          { operation, cause: lastError },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const connection = new FramedConnection(socket);
  const endpoint = await options.listenForPeers(socket.localAddress);
  return new Promise<PeerInfo[]>((resolve, reject) => {
    let joinedSoFar: number[] = [];
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      connection.end();
      outcome();
    };
    const timer = setTimeout(() => {
      const missing = Array.from({ length: options.worldSize }, (_, rank) => rank).filter((rank) => !joinedSoFar.includes(rank) && rank !== options.rank);
      settle(() =>
        reject(
          new CollectiveTimeoutError(
            `forming the group timed out after ${options.timeoutMs} ms on rank ${options.rank}: ` +
              `rank${missing.length === 1 ? '' : 's'} ${missing.join(', ')} did not join (rendezvous root at ${where}). ` +
              'Every rank must call createCommunicator with the same unique id and worldSize.',
            { ranks: missing, operation },
          ),
        ),
      );
    }, Math.max(0, options.deadline - Date.now()));
    connection.attach({
      control: (message) => {
        if (message.type === 'progress') joinedSoFar = message.joined as number[];
        else if (message.type === 'table') settle(() => resolve(message.peers as PeerInfo[]));
        else if (message.type === 'failed') {
          const text = `rank ${options.rank} could not join the group at ${where}: ${String(message.message)}`;
          const error =
            message.code === 'COLLECTIVE_TIMEOUT'
              ? new CollectiveTimeoutError(text, { ranks: message.missing as number[], operation })
              : new CollectiveError('COLLECTIVE_RENDEZVOUS_FAILED', text, { operation });
          settle(() => reject(error));
        }
      },
      closed: () =>
        settle(() =>
          reject(
            new CollectiveError(
              'COLLECTIVE_RENDEZVOUS_FAILED',
              `the rendezvous root at ${where} closed the connection before the group formed (its process exited, or the secret was wrong)`,
              { operation },
            ),
          ),
        ),
    });
    connection.send({
      type: 'join',
      secret: options.secret,
      worldSize: options.worldSize,
      info: { rank: options.rank, endpoint, hostname: os.hostname(), pid: process.pid } satisfies PeerInfo,
    });
  });
}

class DeadlinePassed extends Error {}

/** Race `promise` against `deadline`; `abandon` cleans up what the promise yields later. */
export function withDeadline<T>(promise: Promise<T>, deadline: number, abandon: (pending: Promise<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      abandon(promise);
      reject(new DeadlinePassed('deadline passed'));
    }, Math.max(0, deadline - Date.now()));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function describeError(error: unknown): string {
  if (error instanceof DeadlinePassed) return 'no answer before the deadline';
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : String(error));
}
