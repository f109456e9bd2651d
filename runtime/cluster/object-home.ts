import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { status as GrpcStatus, type ServerWritableStream } from '@grpc/grpc-js';
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import type { ObjectDirectory, ObjectStatus, ReferenceOperation } from '../object-store/object-directory.ts';
import type { ObjectHint } from '../object-store/object-ref.ts';
import { RpcConnection } from '../transport/rpc.ts';
import type { Channel } from '../transport/transport.ts';
import { statusName } from './cluster-errors.ts';
import { parseGrpcAddress } from './grpc/grpc-address.ts';
import { asError, isRetryable, statusOf } from './grpc/grpc-retry.ts';
import { GrpcServer } from './grpc/grpc-server.ts';
import type { GrpcTransport } from './grpc/grpc-transport.ts';

export interface ObjectHomeOptions {
  directory: ObjectDirectory;
  transport: GrpcTransport;
  logger: Logger;
  /** How long a fetch from an unreachable home is retried before the object counts as lost (default 30 s). */
  fetchTimeoutMs?: number;
  /** Names the objects' node in messages (`node node-1`, `driver driver-3f2a`). */
  label: string;
}

/**
 * The object store of one cluster process that owns objects: a node agent (for its workers) or a driver. Objects
 * put here stay here; other nodes fetch them over gRPC when a process there calls `get`:
 *
 * - `locate(id, hint)` for another node's object fetches it once into this node's shared memory (concurrent
 *   readers wait for the same transfer) and answers `present`, or `lost` when the owner or its node is gone;
 * - reference operations of local processes on another node's objects are counted here (for the local copy) and
 *   forwarded to the object's home, which counts them as holders; the home frees an object only when no process
 *   anywhere holds it;
 * - when a local process dies, its refs are dropped here and at every home it touched; when a home reports an
 *   owner's death, or the head a node's loss, local copies become lost (objects fate-share with their owner).
 *
 * @example
 * const home = await ObjectHome.start({ host: '10.0.0.5', port: 0 }, { directory, transport, logger, label: 'node node-1' });
 * const status = await home.locate('a3.1-7', { home: 'grpc:10.0.0.6:41000', ownerName: 'rollout-0' });
 */
export class ObjectHome {
  private readonly fetches = new Map<string, Promise<ObjectStatus>>();
  private readonly links = new Map<string, Promise<RpcConnection>>();
  /** Homes each local process touched (to tell them when it dies). */
  private readonly touched = new Map<string, Set<string>>();
  /** Remote holders by the home that reported them (dropped when that home is lost). */
  private readonly remoteClients = new Map<string, Set<string>>();
  /** Homes that fetched each object owned here (told when it is lost). */
  private readonly fetchedBy = new Map<string, Set<string>>();
  private readonly lostHomes = new Map<string, string>();
  private forward = new Map<string, [string, ReferenceOperation[]][]>();
  /** Asks the head whether a home is known to be gone (and why), when fetching from it fails. */
  private homeStatus: ((home: string) => Promise<string | undefined>) | undefined;
  private forwardScheduled = false;
  readonly transfers = { served: 0, fetched: 0 };

  private constructor(
    private readonly server: GrpcServer,
    private readonly options: ObjectHomeOptions,
  ) {}

  static async start(bind: { host: string; port: number }, options: ObjectHomeOptions): Promise<ObjectHome> {
    let home: ObjectHome | undefined;
    const server = await GrpcServer.start(
      bind,
      options.transport.options,
      {
        onChannel: (channel) => home?.serveChannel(channel),
        onFetch: (request, call) => {
          home?.serveFetch(request, call).catch((error: Error) => {
            options.logger.warn({ err: error.message }, 'serving an object failed');
            call.emit('error', { code: GrpcStatus.INTERNAL, details: error.message });
          });
        },
      },
      options.label,
    );
    home = new ObjectHome(server, options);
    return home;
  }

  /** Where other nodes reach this home: `grpc:host:port`. */
  get address(): string {
    return this.server.address;
  }

  /** Set once the link to the head exists: an unreachable home is looked up there before retrying. */
  useHomeStatus(lookup: (home: string) => Promise<string | undefined>): void {
    this.homeStatus = lookup;
  }

  async close(): Promise<void> {
    for (const link of this.links.values()) link.then((rpc) => rpc.close(), () => {});
    this.links.clear();
    await this.server.close();
  }

  // ---- local processes -----------------------------------------------------------------------------------------

  /** Reference operations of a local process: counted here, and at the home of any foreign object they touch. */
  apply(client: string, operations: ReferenceOperation[]): void {
    const directory = this.options.directory;
    for (const operation of operations) {
      const id = operation[1];
      if (operation[0] === 'c' && operation.length === 5 && !directory.has(id)) directory.adoptCopy(id, operation[4], operation[3]);
      const home = directory.copyOf(id);
      if (home === undefined || this.lostHomes.has(home)) continue;
      this.queueForward(home, client, operation);
      let homes = this.touched.get(client);
      if (!homes) this.touched.set(client, (homes = new Set()));
      homes.add(home);
    }
    directory.apply(client, operations);
  }

  /** Where an object is; another node's object is fetched here first. */
  locate(id: string, hint?: ObjectHint): Promise<ObjectStatus> {
    const directory = this.options.directory;
    if (hint === undefined || hint.home === this.address) return Promise.resolve(directory.locate(id));
    directory.adoptCopy(id, hint.ownerName, hint.home);
    const status = directory.locate(id);
    if (status.status !== 'remote') return Promise.resolve(status);
    let fetching = this.fetches.get(id);
    if (!fetching) {
      fetching = this.fetch(id, hint).finally(() => this.fetches.delete(id));
      this.fetches.set(id, fetching);
    }
    return fetching;
  }

  /** A local process ended: its refs go, here and at every home it touched; what it owned is lost. */
  processDied(client: string, reason: string): void {
    const lost = this.options.directory.processDied(client, reason);
    this.tellFetchers(lost, reason);
    for (const home of this.touched.get(client) ?? []) void this.link(home).then((rpc) => rpc.notify('processDied', JSON.stringify([client, reason])), () => {});
    this.touched.delete(client);
  }

  /** The head reports a node (or driver) gone: its objects are lost here, and its processes' refs dropped. */
  homeLost(home: string, reason: string): void {
    if (this.lostHomes.has(home)) return;
    this.lostHomes.set(home, reason);
    for (const id of this.options.directory.copiesFrom(home)) this.options.directory.copyLost(id, reason);
    for (const client of this.remoteClients.get(home) ?? []) this.options.directory.processDied(client, reason);
    this.remoteClients.delete(home);
    this.forward.delete(home);
    void this.links.get(home)?.then((rpc) => rpc.close(), () => {});
    this.links.delete(home);
  }

  // ---- other homes ---------------------------------------------------------------------------------------------

  private serveChannel(channel: Channel): void {
    let peerHome = '';
    new RpcConnection(channel, {
      onNotify: (frame) => {
        try {
          const args = JSON.parse(frame.body) as unknown[];
          switch (frame.route) {
            case 'hello':
              peerHome = String(args[0]);
              return;
            case 'references':
              for (const [client, operations] of args[0] as [string, ReferenceOperation[]][]) {
                let clients = this.remoteClients.get(peerHome);
                if (!clients) this.remoteClients.set(peerHome, (clients = new Set()));
                clients.add(client);
                this.options.directory.apply(client, operations);
              }
              return;
            case 'processDied':
              this.remoteClients.get(peerHome)?.delete(args[0] as string);
              this.options.directory.processDied(args[0] as string, args[1] as string);
              return;
            case 'objectsLost':
              for (const [id, reason] of args[0] as [string, string][]) this.options.directory.copyLost(id, reason);
              return;
          }
        } catch (error) {
          this.options.logger.warn({ err: error, route: frame.route, peer: peerHome }, 'bad object notification from another node');
        }
      },
    });
  }

  /** Stream an object owned here: a JSON header `{ bytes }`, then the stored file in chunks, with backpressure. */
  private async serveFetch(request: Buffer, call: ServerWritableStream<Buffer, Buffer>): Promise<void> {
    let id: string;
    let requester: string;
    try {
      const parsed = JSON.parse(request.toString('utf8')) as { id: unknown; home: unknown };
      if (typeof parsed.id !== 'string' || typeof parsed.home !== 'string') throw new Error('id and home must be strings');
      id = parsed.id;
      requester = parsed.home;
    } catch (error) {
      call.emit('error', { code: GrpcStatus.INVALID_ARGUMENT, details: `bad fetch request: ${(error as Error).message}` });
      return;
    }
    const directory = this.options.directory;
    const status = directory.copyOf(id) === undefined ? directory.locate(id) : { status: 'unknown' as const };
    if (status.status !== 'present') {
      const details = status.status === 'lost' ? `lost: ${status.reason} (owner: ${status.owner})` : `unknown: ${id} was freed or never lived on ${this.options.label}`;
      call.emit('error', { code: GrpcStatus.NOT_FOUND, details });
      return;
    }
    let fd: number;
    try {
      fd = openSync(directory.pathOf(id, status.location), 'r');
    } catch (error) {
      call.emit('error', { code: GrpcStatus.NOT_FOUND, details: `lost: ${id} was removed while being fetched (${(error as Error).message})` });
      return;
    }
    try {
      const bytes = fstatSync(fd).size;
      let watchers = this.fetchedBy.get(id);
      if (!watchers) this.fetchedBy.set(id, (watchers = new Set()));
      watchers.add(requester);
      call.write(Buffer.from(JSON.stringify({ bytes })));
      const chunkBytes = this.options.transport.options.messageBytes;
      for (let offset = 0; offset < bytes; ) {
        const chunk = Buffer.allocUnsafe(Math.min(chunkBytes, bytes - offset));
        const read = readSync(fd, chunk, 0, chunk.length, offset);
        if (read === 0) throw new Error(`object file of ${id} ended at ${offset} of ${bytes} bytes`);
        offset += read;
        if (!call.write(read === chunk.length ? chunk : chunk.subarray(0, read))) await drainedOrGone(call);
        if (call.cancelled || call.destroyed) return;
      }
      call.end();
      this.transfers.served++;
    } catch (error) {
      call.emit('error', { code: GrpcStatus.INTERNAL, details: `reading ${id}: ${(error as Error).message}` });
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Fetch a copy, retrying while the home is unreachable (it may be restarting), up to `fetchTimeoutMs` (p-retry:
   * only UNAVAILABLE / DEADLINE_EXCEEDED are retried; every other outcome settles the copy at once).
   */
  private async fetch(id: string, hint: ObjectHint): Promise<ObjectStatus> {
    let last: { code: number; details: string } = { code: GrpcStatus.UNAVAILABLE, details: 'no attempt finished' };
    try {
      return await pRetry(
        async (): Promise<ObjectStatus> => {
          const lostReason = this.lostHomes.get(hint.home);
          if (lostReason !== undefined) return this.markLost(id, hint, lostReason);
          try {
            await this.fetchOnce(id, hint.home);
            this.transfers.fetched++;
            return this.options.directory.locate(id);
          } catch (error) {
            const { code, details } = (last = statusOf(error));
            if (code === GrpcStatus.NOT_FOUND) return this.markLost(id, hint, details.replace(/^(lost|unknown): /, ''));
            // An unreachable home may be a node the head has declared dead: then the object is lost, and that says why.
            const gone = isRetryable(code) ? await this.homeStatus?.(hint.home).catch(() => undefined) : undefined;
            if (gone !== undefined) {
              this.homeLost(hint.home, gone);
              return this.markLost(id, hint, gone);
            }
            throw asError(error);
          }
        },
        {
          retries: Number.POSITIVE_INFINITY,
          factor: 2,
          minTimeout: 100,
          maxTimeout: 2_000,
          maxRetryTime: this.options.fetchTimeoutMs ?? 30_000,
          shouldRetry: ({ error }) => isRetryable(statusOf(error).code),
        },
      );
    } catch {
      return this.markLost(id, hint, `it could not be fetched from its home ${hint.home}: ${statusName(last.code)}: ${last.details}`);
    }
  }

  private markLost(id: string, hint: ObjectHint, reason: string): ObjectStatus {
    this.options.directory.copyLost(id, reason);
    return { status: 'lost', owner: hint.ownerName, reason };
  }

  /** One transfer into `<id>.partial`, renamed into place when complete so that readers never see half a file. */
  private fetchOnce(id: string, home: string): Promise<void> {
    const directory = this.options.directory;
    const stream = this.options.transport.fetch(home, Buffer.from(JSON.stringify({ id, home: this.address })));
    const stallMs = this.options.fetchTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      let fd: number | undefined;
      let path = '';
      let expected = -1;
      let received = 0;
      // A home that stops sending (partitioned mid-transfer) is given up on and retried.
      let stall = setTimeout(() => stalled(), stallMs);
      const stalled = () => {
        stream.cancel();
        fail({ code: GrpcStatus.DEADLINE_EXCEEDED, details: `no data from ${home} for ${stallMs} ms` });
      };
      const fail = (error: unknown) => {
        clearTimeout(stall);
        if (fd !== undefined) closeSync(fd);
        fd = undefined;
        if (path !== '') rmSync(`${path}.partial`, { force: true });
        reject(error);
      };
      stream.on('data', (message: Buffer) => {
        clearTimeout(stall);
        stall = setTimeout(() => stalled(), stallMs);
        try {
          if (expected < 0) {
            expected = (JSON.parse(message.toString('utf8')) as { bytes: number }).bytes;
            path = directory.pathOf(id, directory.reserveCopy(id, expected));
            fd = openSync(`${path}.partial`, 'w');
            return;
          }
          writeSync(fd as number, message, 0, message.length, received);
          received += message.length;
        } catch (error) {
          stream.cancel();
          fail({ code: GrpcStatus.INTERNAL, details: `writing the copy of ${id}: ${(error as Error).message}` });
        }
      });
      stream.on('error', fail);
      stream.on('end', () => {
        clearTimeout(stall);
        if (fd === undefined) {
          if (expected < 0) reject({ code: GrpcStatus.DATA_LOSS, details: `the transfer of ${id} ended before its header` });
          return;
        }
        closeSync(fd);
        fd = undefined;
        if (received !== expected) {
          rmSync(`${path}.partial`, { force: true });
          reject({ code: GrpcStatus.DATA_LOSS, details: `received ${received} of ${expected} bytes of ${id}` });
          return;
        }
        renameSync(`${path}.partial`, path);
        // Nobody holds it any more (released while it was in flight): the bytes go at once.
        if (!directory.copyFetched(id)) rmSync(path, { force: true });
        resolve();
      });
    });
  }

  private tellFetchers(ids: string[], reason: string): void {
    const perHome = new Map<string, [string, string][]>();
    for (const id of ids) {
      for (const home of this.fetchedBy.get(id) ?? []) {
        const list = perHome.get(home) ?? [];
        list.push([id, reason]);
        perHome.set(home, list);
      }
      this.fetchedBy.delete(id);
    }
    for (const [home, lost] of perHome) void this.link(home).then((rpc) => rpc.notify('objectsLost', JSON.stringify([lost])), () => {});
  }

  private queueForward(home: string, client: string, operation: ReferenceOperation): void {
    const batch = this.forward.get(home) ?? [];
    const last = batch[batch.length - 1];
    if (last && last[0] === client) last[1].push(operation);
    else batch.push([client, [operation]]);
    this.forward.set(home, batch);
    if (!this.forwardScheduled) {
      this.forwardScheduled = true;
      process.nextTick(() => this.flushForward());
    }
  }

  private flushForward(): void {
    this.forwardScheduled = false;
    const batches = this.forward;
    this.forward = new Map();
    for (const [home, batch] of batches) {
      this.link(home).then(
        (rpc) => rpc.notify('references', JSON.stringify([batch])),
        (error: Error) => this.options.logger.warn({ home, err: error.message }, `could not report reference counts to ${home}`),
      );
    }
  }

  /** A channel to another home, opened once and reopened after it closes. */
  private link(home: string): Promise<RpcConnection> {
    let link = this.links.get(home);
    if (!link) {
      parseGrpcAddress(home);
      link = this.options.transport.connect(home, `object home ${home}`).then((channel) => {
        const rpc = new RpcConnection(channel, { onClose: () => this.links.delete(home) });
        rpc.notify('hello', JSON.stringify([this.address]));
        return rpc;
      });
      link.catch(() => this.links.delete(home));
      this.links.set(home, link);
    }
    return link;
  }
}

/** Resolves when the stream can take more, or when the reader is gone (a cancelled call never drains). */
function drainedOrGone(call: ServerWritableStream<Buffer, Buffer>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of ['drain', 'cancelled', 'close', 'error']) call.off(event, done);
      resolve();
    };
    for (const event of ['drain', 'cancelled', 'close', 'error']) call.on(event, done);
  });
}
