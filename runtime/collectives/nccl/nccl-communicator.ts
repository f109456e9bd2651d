import type { CallOptions, CollectiveBackendName, Communicator, ReduceOp, ReduceOptions } from '../communicator.ts';
import { CollectiveError, CollectiveTimeoutError } from '../errors.ts';
import { segmentBounds } from '../partition.ts';
import type { NcclUniqueIdData } from '../unique-id.ts';
import { checkBuffer, checkRoot, resolveReduceOp, resolveTimeout, type ResolvedCommunicatorOptions } from '../validate.ts';
import type { NcclAddon, NcclHandle } from './nccl-addon.ts';
import { loadNcclAddon, ncclUnavailableError } from './nccl-availability.ts';

/**
 * The `nccl` backend: the same interface over NVIDIA NCCL through a small native addon (native/nccl_binding.cc).
 *
 * Checked once on an H100 with one rank (`npm run bench -- nccl`: every operation, destroy and the formation
 * timeout); never with several ranks (NCCL allows one rank per GPU) and never in CI, which has no GPU. Selecting
 * `nccl` where the addon, NCCL or a GPU is missing fails at once with a message naming what is missing. What NCCL
 * cannot do that the other backends do: name the rank that did not arrive (a timeout aborts the communicator with
 * `ncclCommAbort` and says so), and detect mismatched calls (they hang until the timeout).
 * Buffers are host Float32Arrays, copied to and from the GPU on every call.
 *
 * @example
 * const uniqueId = await createUniqueId({ backend: 'nccl' }); // on rank 0 of a GPU group
 * const communicator = await createCommunicator(uniqueId, { rank, worldSize }); // device: CUDA_VISIBLE_DEVICES[0]
 */
export class NcclCommunicator implements Communicator {
  readonly backend: CollectiveBackendName = 'nccl';
  readonly rank: number;
  readonly worldSize: number;
  private readonly timeoutMs: number;
  private tail: Promise<unknown> = Promise.resolve();
  private sequence = 0;
  private failure: CollectiveError | undefined;

  private constructor(
    private readonly addon: NcclAddon,
    private readonly handle: NcclHandle,
    options: ResolvedCommunicatorOptions,
  ) {
    this.rank = options.rank;
    this.worldSize = options.worldSize;
    this.timeoutMs = options.timeoutMs;
  }

  static async create(id: NcclUniqueIdData, options: ResolvedCommunicatorOptions): Promise<NcclCommunicator> {
    const state = loadNcclAddon();
    if ('missing' in state) throw ncclUnavailableError('init');
    // The runtime gives each GPU actor CUDA_VISIBLE_DEVICES, so its device is always index 0.
    const uniqueId = Buffer.from(id.ncclUniqueId, 'base64');
    try {
      const handle = await state.addon.initRank(uniqueId, options.worldSize, options.rank, 0, options.timeoutMs);
      return new NcclCommunicator(state.addon, handle, options);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message === 'timed out') {
        throw new CollectiveTimeoutError(
          `forming the NCCL group timed out after ${options.timeoutMs} ms on rank ${options.rank} (NCCL does not say which ranks are missing)`,
          { ranks: [], operation: 'init' },
        );
      }
      throw new CollectiveError('COLLECTIVE_RENDEZVOUS_FAILED', `ncclCommInitRank failed on rank ${options.rank}: ${message}`, { operation: 'init', cause: error });
    }
  }

  async allreduce(buffer: Float32Array, options: ReduceOptions = {}): Promise<Float32Array> {
    checkBuffer('allreduce', 'buffer', buffer);
    const op = resolveReduceOp('allreduce', options.op);
    await this.run('allreduce', resolveTimeout('allreduce', options.timeoutMs, this.timeoutMs), (timeoutMs) =>
      this.addon.collective(this.handle, 'allreduce', buffer, buffer, ncclOp(op), 0, timeoutMs),
    );
    return buffer;
  }

  async broadcast(buffer: Float32Array, root: number, options: CallOptions = {}): Promise<Float32Array> {
    checkBuffer('broadcast', 'buffer', buffer);
    checkRoot(root, this.worldSize);
    await this.run('broadcast', resolveTimeout('broadcast', options.timeoutMs, this.timeoutMs), (timeoutMs) =>
      this.addon.collective(this.handle, 'broadcast', buffer, buffer, 'sum', root, timeoutMs),
    );
    return buffer;
  }

  async allgather(input: Float32Array, options: CallOptions = {}): Promise<Float32Array> {
    checkBuffer('allgather', 'input', input);
    const output = new Float32Array(input.length * this.worldSize);
    await this.run('allgather', resolveTimeout('allgather', options.timeoutMs, this.timeoutMs), (timeoutMs) =>
      this.addon.collective(this.handle, 'allgather', input, output, 'sum', 0, timeoutMs),
    );
    return output;
  }

  async reduceScatter(input: Float32Array, options: ReduceOptions = {}): Promise<Float32Array> {
    checkBuffer('reduceScatter', 'input', input);
    const op = resolveReduceOp('reduceScatter', options.op);
    const timeoutMs = resolveTimeout('reduceScatter', options.timeoutMs, this.timeoutMs);
    const [start, end] = segmentBounds(input.length, this.worldSize, this.rank);
    if (input.length % this.worldSize === 0) {
      const output = new Float32Array(end - start);
      await this.run('reduceScatter', timeoutMs, (ms) => this.addon.collective(this.handle, 'reduceScatter', input, output, ncclOp(op), 0, ms));
      return output;
    }
    // ncclReduceScatter needs equal segments; for the uneven case reduce everything and keep this rank's segment.
    const work = input.slice();
    await this.run('reduceScatter', timeoutMs, (ms) => this.addon.collective(this.handle, 'allreduce', work, work, ncclOp(op), 0, ms));
    return work.slice(start, end);
  }

  async barrier(options: CallOptions = {}): Promise<void> {
    const token = new Float32Array(1);
    await this.run('barrier', resolveTimeout('barrier', options.timeoutMs, this.timeoutMs), (timeoutMs) =>
      this.addon.collective(this.handle, 'allreduce', token, token, 'sum', 0, timeoutMs),
    );
  }

  async destroy(): Promise<void> {
    if (this.failure?.code === 'COLLECTIVE_DESTROYED') return;
    this.failure = new CollectiveError('COLLECTIVE_DESTROYED', `rank ${this.rank} destroyed this communicator`, { ranks: [this.rank] });
    this.addon.abort(this.handle);
    await this.tail;
    this.addon.destroy(this.handle);
  }

  private run(kind: string, timeoutMs: number, call: (timeoutMs: number) => Promise<void>): Promise<void> {
    const result = this.tail.then(async () => {
      const name = `${kind} #${++this.sequence}`;
      if (this.failure) {
        throw new CollectiveError(this.failure.code === 'COLLECTIVE_DESTROYED' ? 'COLLECTIVE_DESTROYED' : 'COLLECTIVE_ABORTED', `${name} cannot run: ${this.failure.message}`, {
          ranks: this.failure.ranks,
          operation: name,
          cause: this.failure,
        });
      }
      try {
        await call(timeoutMs);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.failure =
          message === 'timed out'
            ? new CollectiveTimeoutError(
                `${name} timed out after ${timeoutMs} ms on rank ${this.rank}; the NCCL communicator was aborted (NCCL does not say which ranks did not arrive). Re-form the group with a new unique id.`,
                { ranks: [], operation: name },
              )
            : new CollectiveError('COLLECTIVE_ABORTED', `${name} failed on rank ${this.rank}: ${message}`, { operation: name, cause: error });
        throw this.failure;
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}

function ncclOp(op: ReduceOp): string {
  return op === 'mean' ? 'avg' : op;
}
