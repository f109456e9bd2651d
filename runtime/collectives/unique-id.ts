import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { chunkBytesSchema } from './validate.ts';
import { DEFAULT_TIMEOUT_MS, type CollectiveBackendName } from './communicator.ts';
import { loadNcclAddon, ncclUnavailableError } from './nccl/nccl-availability.ts';
import { endpointSchema, type Endpoint } from './transport/endpoint.ts';
import { startRendezvousRoot } from './transport/rendezvous.ts';

/**
 * A unique id names one group before it exists, like NCCL's `ncclUniqueId`: one process creates it, every rank
 * receives it out of band (an actor-call argument, the control store) and passes it to `createCommunicator`.
 *
 * It is a short JSON string holding what the ranks need to meet: the backend, the address of the rendezvous root
 * (which runs in the creating process until the group has formed), a random secret that every connection must
 * present, and a random group id. Treat it like a password: it lets its holder join the group.
 */
export type UniqueId = string;

/** The parsed contents of a unique id for the `shm` and `tcp` backends. */
export interface MeshUniqueIdData {
  version: 1;
  backend: 'shm' | 'tcp';
  /** Where the rendezvous root listens. */
  root: Endpoint;
  /** 32 random bytes, hex: presented at every connection, compared in constant time. */
  secret: string;
  /** 8 random bytes, hex: tells this group's connections and files apart from any other group's. */
  nonce: string;
  /** `shm`: the tmpfs directory for the group's files and sockets. */
  shmDir?: string;
  /** `shm`: the host the group lives on (every rank must be on it). */
  hostname?: string;
  /** Bytes per data chunk (the unit of pipelining), the same on every rank; absent means the backend's default. */
  chunkBytes?: number;
}

/** The parsed contents of a unique id for the `nccl` backend: NCCL's own 128-byte id (it holds the root's address). */
export interface NcclUniqueIdData {
  version: 1;
  backend: 'nccl';
  /** `ncclGetUniqueId`'s bytes, base64. */
  ncclUniqueId: string;
}

export type UniqueIdData = MeshUniqueIdData | NcclUniqueIdData;

const meshFields = {
  version: z.literal(1),
  root: endpointSchema,
  secret: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits'),
  nonce: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 hex digits'),
  chunkBytes: chunkBytesSchema.optional(),
};

const uniqueIdSchema = z.discriminatedUnion('backend', [
  z.object({ ...meshFields, backend: z.literal('tcp') }).strict(),
  z.object({ ...meshFields, backend: z.literal('shm'), shmDir: z.string().min(1), hostname: z.string().min(1) }).strict(),
  z.object({ version: z.literal(1), backend: z.literal('nccl'), ncclUniqueId: z.base64() }).strict(),
]);

/** Options of `createUniqueId`. */
export interface UniqueIdOptions {
  /** `shm` (all ranks on this node), `tcp` (ranks on any hosts) or `nccl` (GPU machines with NCCL). */
  backend: CollectiveBackendName;
  /** `tcp`: address the ranks reach this process at (default: this machine's first non-loopback IPv4 address). */
  host?: string;
  /** `tcp`: port of the rendezvous root (default: any free port). */
  port?: number;
  /** `shm`: tmpfs directory for the group's files and sockets (default `/dev/shm`, else the temp directory). */
  shmDir?: string;
  /** How long the root waits for every rank to join (default 5 minutes). */
  timeoutMs?: number;
  /** Bytes per data chunk, the unit of pipelining (default: `tcp` 1 MiB, `shm` 256 KiB); a multiple of 16. */
  chunkBytes?: number;
}

const optionsSchema = z
  .object({
    backend: z.enum(['shm', 'tcp', 'nccl']),
    host: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65_535).optional(),
    shmDir: z.string().min(1).optional(),
    timeoutMs: z.number().int().positive().max(2_147_483_647).optional(),
    chunkBytes: chunkBytesSchema.optional(),
  })
  .strict();

/**
 * Create a unique id for a new group and start its rendezvous root in this process. Call it once per group (a
 * re-formed group needs a new one); this process must stay alive until every rank has joined.
 *
 * @example
 * // on rank 0 (or the driver), then pass `uniqueId` to every rank, e.g. as an actor-call argument:
 * const uniqueId = await createUniqueId({ backend: 'tcp', host: '198.18.0.1' });
 */
export async function createUniqueId(options: UniqueIdOptions): Promise<UniqueId> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => ({ path: ['createUniqueId', ...issue.path.map(String)].join('.'), message: issue.message })));
  }
  const { backend, timeoutMs = DEFAULT_TIMEOUT_MS, chunkBytes } = parsed.data;
  if (backend === 'nccl') {
    const state = loadNcclAddon();
    if ('missing' in state) throw ncclUnavailableError('createUniqueId');
    const ncclUniqueId = Buffer.from(state.addon.getUniqueId()).toString('base64');
    return JSON.stringify({ version: 1, backend, ncclUniqueId } satisfies NcclUniqueIdData);
  }
  const secret = randomBytes(32).toString('hex');
  const nonce = randomBytes(8).toString('hex');
  if (backend === 'tcp') {
    const host = parsed.data.host ?? defaultHost();
    const root = await startRendezvousRoot({ listen: { host, port: parsed.data.port ?? 0 }, secret, timeoutMs });
    return JSON.stringify({ version: 1, backend, root, secret, nonce, chunkBytes } satisfies MeshUniqueIdData);
  }
  const shmDir = path.resolve(parsed.data.shmDir ?? defaultShmDir());
  checkShmDir(shmDir);
  const root = await startRendezvousRoot({ listen: { path: shmSocketPath(shmDir, nonce, 'root') }, secret, timeoutMs });
  return JSON.stringify({ version: 1, backend, root, secret, nonce, shmDir, hostname: os.hostname(), chunkBytes } satisfies MeshUniqueIdData);
}

/**
 * Parse and check a unique id (a `ConfigError` names the field at fault).
 *
 * @example
 * parseUniqueId(uniqueId).backend; // 'tcp'
 */
export function parseUniqueId(uniqueId: unknown): UniqueIdData {
  let data: unknown;
  try {
    data = typeof uniqueId === 'string' ? JSON.parse(uniqueId) : undefined;
  } catch {
    data = undefined;
  }
  if (data === undefined) {
    throw new ConfigError([{ path: 'uniqueId', message: 'must be the string returned by createUniqueId (JSON)' }]);
  }
  const parsed = uniqueIdSchema.safeParse(data);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => ({ path: ['uniqueId', ...issue.path.map(String)].join('.'), message: issue.message })));
  }
  return parsed.data as UniqueIdData;
}

/** Socket path of the group's `role` (`root`, `r3`) in the shm directory. */
export function shmSocketPath(shmDir: string, nonce: string, role: string): string {
  return path.join(shmDir, `posttrain-${nonce}-${role}.sock`);
}

/** File path of rank `rank`'s shared buffer in the shm directory. */
export function shmBufferPath(shmDir: string, nonce: string, rank: number): string {
  return path.join(shmDir, `posttrain-${nonce}-r${rank}.buf`);
}

function defaultShmDir(): string {
  return fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
}

/** Unix socket paths are limited to 107 bytes; a long directory would fail later with an obscure error. */
function checkShmDir(shmDir: string): void {
  if (Buffer.byteLength(shmSocketPath(shmDir, '0'.repeat(16), 'r65535')) > 107) {
    throw new ConfigError([{ path: 'createUniqueId.shmDir', message: `"${shmDir}" is too long for Unix socket paths (at most about 60 characters)` }]);
  }
  try {
    fs.accessSync(shmDir, fs.constants.W_OK);
  } catch {
    throw new ConfigError([{ path: 'createUniqueId.shmDir', message: `"${shmDir}" does not exist or is not writable` }]);
  }
}

/** The first non-internal IPv4 address (the cluster network on a typical node), else loopback. */
function defaultHost(): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return '127.0.0.1';
}
