import type { CollectiveBackendName, ReduceOp } from '../communicator.ts';
import { CollectiveError } from '../errors.ts';
import { MeshCommunicator, type OperationContext } from '../mesh-communicator.ts';
import { chunksOf, segmentBounds } from '../partition.ts';
import { ReduceKernel } from '../reduce-kernel.ts';
import { bytesOf } from '../shm/shm-files.ts';
import { FrameKind, type FrameHeader } from '../transport/frames.ts';
import type { PeerMesh } from '../transport/peer-mesh.ts';
import type { ResolvedCommunicatorOptions } from '../validate.ts';

/** Bytes per data frame: the unit of pipelining (measured in bench/collectives.ts). */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** What the current operation does with frames from the previous rank on the ring. */
interface RingReceiver {
  sequence: number;
  /** Elements of the operation's working buffer (frames must stay inside). */
  length: number;
  destination(header: FrameHeader): Uint8Array;
  data(header: FrameHeader, payload: Uint8Array): void;
}

/**
 * Ranks on any hosts: a ring over TCP, NCCL's own design for the bulk data path (each rank sends to rank + 1 and
 * receives from rank - 1, so every link carries the same load and bandwidth does not fall as ranks are added).
 *
 * Allreduce = reduce-scatter + allgather, chunked and pipelined (Patarasuk & Yuan 2009, "Bandwidth optimal
 * all-reduce algorithms for clusters of workstations"). The buffer is cut into `worldSize` segments and each
 * segment into chunks. In reduce-scatter step k (k = 0..n-2), rank r sends segment (r-1-k) mod n and receives
 * segment (r-2-k) mod n, combining it with its own values; after step n-2 rank r holds the full reduction of
 * segment r. In allgather step k it sends segment (r-k) mod n and stores segment (r-1-k) mod n. A received chunk is
 * passed on at once, so all steps overlap: each rank sends 2(n-1)/n of the buffer, the bandwidth optimum.
 *
 * Data moves as raw bytes in length-prefixed frames (transport/frames.ts), sent straight from the caller's buffer
 * and received straight into it or into SIMD scratch. Every rank's `arrive` announcement precedes its data, so no
 * frame ever reaches a rank before that rank has started the operation it belongs to.
 *
 * @example
 * const uniqueId = await createUniqueId({ backend: 'tcp', host: '198.18.0.1' });
 * const communicator = await createCommunicator(uniqueId, { rank, worldSize: 2, host: '198.18.0.2' }); // on each rank
 */
export class TcpRingCommunicator extends MeshCommunicator {
  readonly backend: CollectiveBackendName = 'tcp';
  private readonly kernel: ReduceKernel;
  private readonly chunkElements: number;
  private readonly next: number;
  private readonly previous: number;
  private receiver: RingReceiver | undefined;

  constructor(mesh: PeerMesh, options: ResolvedCommunicatorOptions, chunkBytes = DEFAULT_CHUNK_BYTES) {
    super(mesh, options);
    this.chunkElements = chunkBytes / 4;
    this.kernel = new ReduceKernel(this.chunkElements);
    this.next = (this.rank + 1) % this.worldSize;
    this.previous = (this.rank - 1 + this.worldSize) % this.worldSize;
    if (this.worldSize > 1) {
      mesh.setDataHandlers(this.previous, {
        destination: (header) => this.checkedReceiver(header).destination(header),
        data: (header, payload) => this.checkedReceiver(header).data(header, payload),
      });
    }
  }

  protected async runAllreduce(buffer: Float32Array, op: ReduceOp, context: OperationContext): Promise<void> {
    await this.reduceScatterInPlace(buffer, op, context, { thenAllgather: true });
  }

  protected async runReduceScatter(input: Float32Array, op: ReduceOp, context: OperationContext): Promise<Float32Array> {
    const work = input.slice();
    await this.reduceScatterInPlace(work, op, context, { thenAllgather: false });
    const [start, end] = segmentBounds(input.length, this.worldSize, this.rank);
    return work.slice(start, end);
  }

  protected async runBroadcast(buffer: Float32Array, root: number, context: OperationContext): Promise<void> {
    const { worldSize } = this;
    const isRoot = this.rank === root;
    const forwards = this.next !== root; // the chain is root -> root+1 -> ... -> root-1
    const flow = this.startFlow(context, buffer.length, isRoot ? 0 : buffer.length, {
      copy: (header, count) => {
        if (forwards) flow.send(FrameKind.copy, header.step + 1, header.offset, count, buffer);
      },
    }, buffer);
    await this.arriveAndCheck(context);
    if (worldSize === 1) return;
    if (isRoot) for (const [start, end] of chunksOf(0, buffer.length, this.chunkElements)) flow.send(FrameKind.copy, 0, start, end - start, buffer);
    await flow.finished();
  }

  protected async runAllgather(input: Float32Array, output: Float32Array, context: OperationContext): Promise<void> {
    const { worldSize, rank } = this;
    const blockLength = input.length;
    output.set(input, rank * blockLength);
    const flow = this.startFlow(context, output.length, (worldSize - 1) * blockLength, {
      copy: (header, count) => {
        if (header.step < worldSize - 2) flow.send(FrameKind.copy, header.step + 1, header.offset, count, output);
      },
    }, output);
    await this.arriveAndCheck(context);
    if (worldSize === 1) return;
    for (const [start, end] of chunksOf(rank * blockLength, (rank + 1) * blockLength, this.chunkElements)) {
      flow.send(FrameKind.copy, 0, start, end - start, output);
    }
    await flow.finished();
  }

  protected async runBarrier(context: OperationContext): Promise<void> {
    await this.arriveAndCheck(context);
  }

  protected releaseResources(): void {
    this.receiver = undefined;
  }

  /**
   * The ring reduce-scatter on `buffer` (in place), optionally followed by the ring allgather, pipelined chunk by
   * chunk: each received chunk is combined and immediately sent on as the next step.
   */
  private async reduceScatterInPlace(buffer: Float32Array, op: ReduceOp, context: OperationContext, options: { thenAllgather: boolean }): Promise<void> {
    const { worldSize, rank, kernel } = this;
    const finalStep = worldSize - 2;
    const segment = (index: number): [number, number] => segmentBounds(buffer.length, worldSize, ((index % worldSize) + worldSize) % worldSize);
    // Reduce-scatter receives every segment but (r-1); allgather every segment but r.
    const [skippedStart, skippedEnd] = segment(rank - 1);
    const [ownStart, ownEnd] = segment(rank);
    const expected =
      buffer.length - (skippedEnd - skippedStart) + (options.thenAllgather ? buffer.length - (ownEnd - ownStart) : 0);
    const flow = this.startFlow(context, buffer.length, worldSize === 1 ? 0 : expected, {
      reduce: (header, count) => {
        kernel.accumulator.set(buffer.subarray(header.offset, header.offset + count));
        kernel.combine(op, count);
        if (header.step === finalStep && op === 'mean') kernel.divide(count, worldSize);
        buffer.set(kernel.accumulator.subarray(0, count), header.offset);
        if (header.step < finalStep) flow.send(FrameKind.reduce, header.step + 1, header.offset, count, buffer);
        else if (options.thenAllgather) flow.send(FrameKind.copy, 0, header.offset, count, buffer);
      },
      copy: (header, count) => {
        if (header.step < finalStep) flow.send(FrameKind.copy, header.step + 1, header.offset, count, buffer);
      },
    }, buffer);
    await this.arriveAndCheck(context);
    if (worldSize === 1) return;
    for (const [start, end] of chunksOf(skippedStart, skippedEnd, this.chunkElements)) flow.send(FrameKind.reduce, 0, start, end - start, buffer);
    await flow.finished();
  }

  /**
   * Install the receiver for this operation before announcing arrival (data may follow the last `arrive` at once)
   * and return helpers: `send` a chunk to the next rank, and `finished`, which resolves once `expected` elements
   * have arrived from the previous rank and every send has been handed to the kernel (only then may the caller
   * touch its buffer again).
   */
  private startFlow(
    context: OperationContext,
    length: number,
    expected: number,
    on: { reduce?: (header: FrameHeader, count: number) => void; copy: (header: FrameHeader, count: number) => void },
    target: Float32Array,
  ): { send(kind: FrameKind, step: number, offset: number, count: number, source: Float32Array): void; finished(): Promise<void> } {
    const sends: Promise<void>[] = [];
    let remaining = expected;
    let resolveReceived!: () => void;
    const received = new Promise<void>((resolve) => {
      resolveReceived = resolve;
    });
    if (remaining === 0) resolveReceived();
    const send = (kind: FrameKind, step: number, offset: number, count: number, source: Float32Array): void => {
      // A failed send means the connection closed; the mesh reports that, naming the rank, so it is not reported here.
      const sent = this.mesh.sendData(this.next, { kind, step, sequence: context.sequence, offset }, bytesOf(source, offset, offset + count));
      sends.push(sent.catch(() => {}));
    };
    this.receiver = {
      sequence: context.sequence,
      length,
      destination: (header) => (header.kind === FrameKind.reduce ? this.kernel.operandBytes.subarray(0, header.payloadBytes) : bytesOf(target, header.offset, header.offset + header.payloadBytes / 4)),
      data: (header) => {
        const count = header.payloadBytes / 4;
        const handler = header.kind === FrameKind.reduce ? on.reduce : on.copy;
        if (!handler) throw new CollectiveError('COLLECTIVE_PROTOCOL', `${context.name}: unexpected reduce frame`);
        handler(header, count);
        remaining -= count;
        if (remaining === 0) resolveReceived();
        else if (remaining < 0) throw new CollectiveError('COLLECTIVE_PROTOCOL', `${context.name}: more data arrived than the operation holds`);
      },
    };
    return {
      send,
      finished: async () => {
        context.waitingFor = { ranks: [this.previous], what: 'deliver its data' };
        await received;
        await Promise.all(sends);
      },
    };
  }

  /** The receiver of the running operation, after checking that the frame belongs to it and fits its buffer. */
  private checkedReceiver(header: FrameHeader): RingReceiver {
    const receiver = this.receiver;
    const count = header.payloadBytes / 4;
    if (!receiver || header.sequence !== receiver.sequence) {
      throw new CollectiveError('COLLECTIVE_PROTOCOL', `data for operation #${header.sequence} arrived outside that operation`);
    }
    if (!Number.isInteger(count) || count > this.chunkElements || header.offset + count > receiver.length) {
      throw new CollectiveError('COLLECTIVE_PROTOCOL', `a data frame of ${header.payloadBytes} bytes at element ${header.offset} does not fit operation #${header.sequence}`);
    }
    return receiver;
  }
}
