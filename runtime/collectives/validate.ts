import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { DEFAULT_TIMEOUT_MS, type CommunicatorOptions, type ReduceOp } from './communicator.ts';

/** Resolved communicator options: every default filled in. */
export interface ResolvedCommunicatorOptions {
  rank: number;
  worldSize: number;
  timeoutMs: number;
  host: string | undefined;
}

/** Bytes per data chunk; shared by the whole group through the unique id. */
export const chunkBytesSchema = z
  .number()
  .int()
  .min(64, 'must be at least 64 bytes')
  .max(64 * 1024 * 1024, 'must be at most 64 MiB')
  .refine((bytes) => bytes % 16 === 0, 'must be a multiple of 16 bytes (four floats)');

const timeoutSchema = z.number().int().positive().max(2_147_483_647, 'must fit a Node timer (at most 2147483647 ms)');

const communicatorOptionsSchema = z
  .object({
    rank: z.number().int().nonnegative(),
    worldSize: z.number().int().min(1).max(65_535),
    timeoutMs: timeoutSchema.default(DEFAULT_TIMEOUT_MS),
    host: z.string().min(1).optional(),
  })
  .strict()
  .refine((options) => options.rank < options.worldSize, {
    path: ['rank'],
    error: (issue) => {
      const options = issue.input as { rank: number; worldSize: number };
      return `rank (${options.rank}) must be below worldSize (${options.worldSize})`;
    },
  });

function toConfigError(prefix: string, error: z.ZodError): ConfigError {
  return new ConfigError(
    error.issues.map((issue) => ({
      path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
      message:
        issue.code === 'unrecognized_keys'
          ? `unknown key ${issue.keys.map((key) => `"${key}"`).join(', ')}; allowed keys: rank, worldSize, timeoutMs, host`
          : issue.message,
    })),
  );
}

/** Check what a caller passed to `createCommunicator`, reporting every problem at once (`ConfigError`). */
export function resolveCommunicatorOptions(options: CommunicatorOptions): ResolvedCommunicatorOptions {
  const result = communicatorOptionsSchema.safeParse(options);
  if (!result.success) throw toConfigError('createCommunicator', result.error);
  return { ...result.data, host: result.data.host };
}

/** The buffer argument of a collective must be a Float32Array. */
export function checkBuffer(operation: string, field: string, value: unknown): asserts value is Float32Array {
  if (!(value instanceof Float32Array)) {
    const got = value === null ? 'null' : typeof value === 'object' ? value.constructor.name : typeof value;
    throw new ConfigError([{ path: `${operation}.${field}`, message: `must be a Float32Array, got ${got}` }]);
  }
}

const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'mean', 'max', 'min'];

/** The reduce op of a call: `sum` when omitted, else one of sum, mean, max, min. */
export function resolveReduceOp(operation: string, op: unknown): ReduceOp {
  if (op === undefined) return 'sum';
  if (typeof op === 'string' && (REDUCE_OPS as readonly string[]).includes(op)) return op as ReduceOp;
  throw new ConfigError([{ path: `${operation}.op`, message: `must be one of ${REDUCE_OPS.join(', ')}, got ${JSON.stringify(op)}` }]);
}

/** A broadcast root must be a rank of the group. */
export function checkRoot(root: unknown, worldSize: number): asserts root is number {
  if (typeof root !== 'number' || !Number.isInteger(root) || root < 0 || root >= worldSize) {
    throw new ConfigError([
      { path: 'broadcast.root', message: `must be an integer rank from 0 to ${worldSize - 1}, got ${JSON.stringify(root)}` },
    ]);
  }
}

/** The deadline of one call: the given `timeoutMs` or the communicator's default. */
export function resolveTimeout(operation: string, timeoutMs: unknown, fallback: number): number {
  if (timeoutMs === undefined) return fallback;
  const result = timeoutSchema.safeParse(timeoutMs);
  if (!result.success) throw toConfigError(`${operation}.timeoutMs`, result.error);
  return result.data;
}
