import type { CallOptions, CollectiveBackendName, Communicator, ReduceOp, ReduceOptions } from './communicator.ts';
import { CollectiveError, CollectiveTimeoutError } from './errors.ts';
import { checkSignatures, describeSignature, type OperationSignature } from './operation.ts';
import type { PeerMesh } from './transport/peer-mesh.ts';
import { checkBuffer, checkRoot, resolveReduceOp, resolveTimeout, type ResolvedCommunicatorOptions } from './validate.ts';

/** One running operation, as its backend sees it. */
export interface OperationContext {
  sequence: number;
  /** `allreduce #12`. */
  name: string;
  signature: OperationSignature;
  /** What the operation waits for now, for the timeout message when every rank has arrived. */
  waitingFor: { phase: string } | { ranks: number[]; what: string };
}

/**
 * What `shm` and `tcp` share: argument checks, running calls one at a time in call order, numbering them, deadlines,
 * mismatch detection, and turning any failure into an abort of the whole group. Backends implement only how the
 * data moves (`runAllreduce`, ...), with every rank's `arrive` announcement carrying the operation's signature.
 */
export abstract class MeshCommunicator implements Communicator {
  readonly rank: number;
  readonly worldSize: number;
  abstract readonly backend: CollectiveBackendName;
  protected readonly timeoutMs: number;
  private sequence = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private destroyed = false;

  constructor(
    protected readonly mesh: PeerMesh,
    options: ResolvedCommunicatorOptions,
  ) {
    this.rank = options.rank;
    this.worldSize = options.worldSize;
    this.timeoutMs = options.timeoutMs;
  }

  async allreduce(buffer: Float32Array, options: ReduceOptions = {}): Promise<Float32Array> {
    checkBuffer('allreduce', 'buffer', buffer);
    const op = resolveReduceOp('allreduce', options.op);
    const timeoutMs = resolveTimeout('allreduce', options.timeoutMs, this.timeoutMs);
    await this.run({ kind: 'allreduce', length: buffer.length, op }, timeoutMs, (context) => this.runAllreduce(buffer, op, context));
    return buffer;
  }

  async broadcast(buffer: Float32Array, root: number, options: CallOptions = {}): Promise<Float32Array> {
    checkBuffer('broadcast', 'buffer', buffer);
    checkRoot(root, this.worldSize);
    const timeoutMs = resolveTimeout('broadcast', options.timeoutMs, this.timeoutMs);
    await this.run({ kind: 'broadcast', length: buffer.length, root }, timeoutMs, (context) => this.runBroadcast(buffer, root, context));
    return buffer;
  }

  async allgather(input: Float32Array, options: CallOptions = {}): Promise<Float32Array> {
    checkBuffer('allgather', 'input', input);
    const timeoutMs = resolveTimeout('allgather', options.timeoutMs, this.timeoutMs);
    const output = new Float32Array(input.length * this.worldSize);
    await this.run({ kind: 'allgather', length: input.length }, timeoutMs, (context) => this.runAllgather(input, output, context));
    return output;
  }

  async reduceScatter(input: Float32Array, options: ReduceOptions = {}): Promise<Float32Array> {
    checkBuffer('reduceScatter', 'input', input);
    const op = resolveReduceOp('reduceScatter', options.op);
    const timeoutMs = resolveTimeout('reduceScatter', options.timeoutMs, this.timeoutMs);
    return this.run({ kind: 'reduceScatter', length: input.length, op }, timeoutMs, (context) => this.runReduceScatter(input, op, context));
  }

  async barrier(options: CallOptions = {}): Promise<void> {
    const timeoutMs = resolveTimeout('barrier', options.timeoutMs, this.timeoutMs);
    await this.run({ kind: 'barrier', length: 0 }, timeoutMs, (context) => this.runBarrier(context));
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.mesh.close(new CollectiveError('COLLECTIVE_DESTROYED', `rank ${this.rank} destroyed this communicator`, { ranks: [this.rank] }));
    this.releaseResources();
  }

  /**
   * Drop every connection without telling anyone, as if this process had been killed. For tests of failure
   * handling with several ranks in one process; never needed in real code.
   */
  simulateCrash(): void {
    this.destroyed = true;
    this.mesh.kill();
    this.releaseResources();
  }

  protected abstract runAllreduce(buffer: Float32Array, op: ReduceOp, context: OperationContext): Promise<void>;
  protected abstract runBroadcast(buffer: Float32Array, root: number, context: OperationContext): Promise<void>;
  protected abstract runAllgather(input: Float32Array, output: Float32Array, context: OperationContext): Promise<void>;
  protected abstract runReduceScatter(input: Float32Array, op: ReduceOp, context: OperationContext): Promise<Float32Array>;
  protected abstract runBarrier(context: OperationContext): Promise<void>;
  /** Free files, memory and sockets the backend holds beyond the mesh. */
  protected abstract releaseResources(): void;

  /** Announce arrival with this operation's signature and wait for every peer's; throws on a mismatch. */
  protected async arriveAndCheck(context: OperationContext, extra: Record<string, unknown> = {}): Promise<void> {
    this.mesh.announce(context.sequence, 'arrive', { signature: context.signature, ...extra });
    const arrivals = await this.waitForPhase(context, 'arrive');
    const signatures = new Map([...arrivals].map(([peer, message]) => [peer, message.signature as OperationSignature]));
    checkSignatures({ rank: this.rank, signature: context.signature }, signatures, context.name);
  }

  /** Wait for phase `name` of this operation from every peer. */
  protected waitForPhase(context: OperationContext, name: string, sequence = context.sequence): Promise<Map<number, Record<string, unknown>>> {
    context.waitingFor = { phase: name };
    return this.mesh.waitForPhase(sequence, name);
  }

  private run<T>(signature: OperationSignature, timeoutMs: number, body: (context: OperationContext) => Promise<T>): Promise<T> {
    const result = this.tail.then(() => this.execute(signature, timeoutMs, body));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async execute<T>(signature: OperationSignature, timeoutMs: number, body: (context: OperationContext) => Promise<T>): Promise<T> {
    const sequence = ++this.sequence;
    const name = `${signature.kind} #${sequence}`;
    this.mesh.checkUsable(name);
    const context: OperationContext = { sequence, name, signature, waitingFor: { phase: 'arrive' } };
    this.mesh.current = { sequence, name };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.timeoutError(context, timeoutMs)), timeoutMs);
    });
    const work = body(context);
    work.catch(() => {});
    try {
      const value = await Promise.race([work, timedOut, this.mesh.failed]);
      this.mesh.lastCompleted = sequence;
      return value;
    } catch (error) {
      const failure = this.asCollectiveError(error, name);
      this.mesh.fail(failure);
      throw this.mesh.failure ?? failure;
    } finally {
      clearTimeout(timer);
      this.mesh.current = undefined;
    }
  }

  private asCollectiveError(error: unknown, operation: string): CollectiveError {
    if (error instanceof CollectiveError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new CollectiveError('COLLECTIVE_ABORTED', `${operation} failed on rank ${this.rank}: ${message}`, { operation, cause: error });
  }

  private timeoutError(context: OperationContext, timeoutMs: number): CollectiveTimeoutError {
    const head = `${context.name} (${describeSignature(context.signature)}) timed out after ${timeoutMs} ms on rank ${this.rank}: `;
    const missing = this.mesh.missingFromPhase(context.sequence, 'arrive');
    if (missing.length > 0) {
      return new CollectiveTimeoutError(
        `${head}${plural('rank', missing)} ${missing.join(', ')} did not arrive. Every rank must call the same collectives in ` +
          'the same order; the rank named here is stuck, slower than the timeout, or cut off from this one.',
        { ranks: missing, operation: context.name },
      );
    }
    const waiting = context.waitingFor;
    const stalled = 'phase' in waiting ? this.mesh.missingFromPhase(context.sequence, waiting.phase) : waiting.ranks;
    const what = 'phase' in waiting ? `reach phase "${waiting.phase}"` : waiting.what;
    return new CollectiveTimeoutError(
      `${head}every rank arrived, but ${plural('rank', stalled)} ${stalled.join(', ')} did not ${what} in time (a stalled link or process).`,
      { ranks: stalled, operation: context.name },
    );
  }
}

function plural(word: string, items: unknown[]): string {
  return items.length === 1 ? word : `${word}s`;
}
