import type { CollectiveBackendName, ReduceOp } from '../communicator.ts';
import { MeshCommunicator, type OperationContext } from '../mesh-communicator.ts';
import { chunksOf, segmentBounds } from '../partition.ts';
import { ReduceKernel } from '../reduce-kernel.ts';
import type { PeerMesh } from '../transport/peer-mesh.ts';
import type { ResolvedCommunicatorOptions } from '../validate.ts';
import { bytesOf, ShmFile } from './shm-files.ts';

/** Bytes reduced per step: 64 Ki floats (256 KiB per region) stay in L2 cache. */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;

/**
 * Ranks on one node: data through tmpfs files, signals through the mesh's Unix domain sockets.
 *
 * Allreduce is reduce-scatter then allgather, with no data on the sockets:
 * 1. every rank writes its input into its own file, except its own segment (nobody else reads that part);
 * 2. `arrive` (carries the signature, so mismatches are caught before any data is used);
 * 3. rank r reduces segment r: it reads segment r of every rank's file in rank order (0, 1, ..., n-1) into SIMD
 *    scratch and combines, so every element is reduced in the same order as a serial loop over ranks; it writes the
 *    result into its buffer and into segment r of its own file;
 * 4. `reduced`; every rank reads segment p from rank p's file for every peer p;
 * 5. `done`: the next operation writes only after every peer's `done`, so nobody overwrites data still being read.
 * Each rank moves about 2x the buffer size through memory for n = 2 (write half, read half, write half, read half),
 * and the n ranks reduce in parallel.
 *
 * @example
 * const uniqueId = await createUniqueId({ backend: 'shm' });
 * const communicator = await createCommunicator(uniqueId, { rank, worldSize: 2 }); // on each rank
 */
export class ShmCommunicator extends MeshCommunicator {
  readonly backend: CollectiveBackendName = 'shm';
  private readonly kernel: ReduceKernel;

  constructor(
    mesh: PeerMesh,
    options: ResolvedCommunicatorOptions,
    private readonly shmDir: string,
    private readonly own: ShmFile,
    /** Every rank's file, indexed by rank (this rank's own file included). */
    private readonly files: ShmFile[],
    chunkBytes = DEFAULT_CHUNK_BYTES,
  ) {
    super(mesh, options);
    this.kernel = new ReduceKernel(chunkBytes / 4);
  }

  protected async runAllreduce(buffer: Float32Array, op: ReduceOp, context: OperationContext): Promise<void> {
    const [start, end] = await this.publishOtherSegments(buffer, context);
    this.reduceSegment(buffer, start, end, op, buffer, start, context);
    this.mesh.announce(context.sequence, 'reduced');
    await this.waitForPhase(context, 'reduced');
    for (const peer of this.mesh.otherRanks) {
      const [peerStart, peerEnd] = segmentBounds(buffer.length, this.worldSize, peer);
      (this.files[peer] as ShmFile).read(bytesOf(buffer, peerStart, peerEnd), peerStart * 4);
    }
    this.mesh.announce(context.sequence, 'done');
  }

  protected async runReduceScatter(input: Float32Array, op: ReduceOp, context: OperationContext): Promise<Float32Array> {
    const [start, end] = await this.publishOtherSegments(input, context);
    const output = new Float32Array(end - start);
    this.reduceSegment(input, start, end, op, output, 0, undefined);
    this.mesh.announce(context.sequence, 'done');
    return output;
  }

  protected async runBroadcast(buffer: Float32Array, root: number, context: OperationContext): Promise<void> {
    await this.beforeWriting(context, buffer.length);
    if (this.rank === root) this.writeOwn(buffer, 0, buffer.length, context);
    await this.arriveAndCheck(context);
    if (this.rank !== root) (this.files[root] as ShmFile).read(bytesOf(buffer), 0);
    this.mesh.announce(context.sequence, 'done');
  }

  protected async runAllgather(input: Float32Array, output: Float32Array, context: OperationContext): Promise<void> {
    await this.beforeWriting(context, input.length);
    this.writeOwn(input, 0, input.length, context);
    await this.arriveAndCheck(context);
    output.set(input, this.rank * input.length);
    for (const peer of this.mesh.otherRanks) {
      (this.files[peer] as ShmFile).read(bytesOf(output, peer * input.length, (peer + 1) * input.length), 0);
    }
    this.mesh.announce(context.sequence, 'done');
  }

  protected async runBarrier(context: OperationContext): Promise<void> {
    await this.arriveAndCheck(context);
    this.mesh.announce(context.sequence, 'done');
  }

  protected releaseResources(): void {
    for (const file of this.files) file.close();
  }

  /** Peers may still read this rank's file from the previous operation until they say `done`. */
  /**
   * The reduce phase both allreduce and reduce-scatter start with: write every segment but this rank's own (the one
   * it reduces) to this rank's file, and wait until every rank has. Returns this rank's segment [start, end).
   */
  private async publishOtherSegments(buffer: Float32Array, context: OperationContext): Promise<[number, number]> {
    const [start, end] = segmentBounds(buffer.length, this.worldSize, this.rank);
    await this.beforeWriting(context, buffer.length);
    this.writeOwn(buffer, 0, start, context);
    this.writeOwn(buffer, end, buffer.length, context);
    await this.arriveAndCheck(context);
    return [start, end];
  }

  private async beforeWriting(context: OperationContext, elements: number): Promise<void> {
    if (context.sequence > 1) await this.waitForPhase(context, 'done', context.sequence - 1);
    this.own.ensureCapacity(elements * 4, this.shmDir, context.name);
  }

  private writeOwn(source: Float32Array, start: number, end: number, context: OperationContext): void {
    if (end > start) this.own.write(bytesOf(source, start, end), start * 4, this.shmDir, context.name);
  }

  /**
   * Reduce elements [start, end) over all ranks in rank order, chunk by chunk through the SIMD kernel, into
   * `target` at `targetOffset`; with `publish`, also write the result to this rank's file for the peers.
   */
  private reduceSegment(
    input: Float32Array,
    start: number,
    end: number,
    op: ReduceOp,
    target: Float32Array,
    targetOffset: number,
    publish: OperationContext | undefined,
  ): void {
    const { kernel } = this;
    for (const [chunkStart, chunkEnd] of chunksOf(start, end, kernel.capacity)) {
      const count = chunkEnd - chunkStart;
      for (let source = 0; source < this.worldSize; source++) {
        const region = source === 0 ? kernel.accumulator : kernel.operand;
        if (source === this.rank) region.set(input.subarray(chunkStart, chunkEnd));
        else (this.files[source] as ShmFile).read(source === 0 ? kernel.accumulatorBytes.subarray(0, count * 4) : kernel.operandBytes.subarray(0, count * 4), chunkStart * 4);
        if (source > 0) kernel.combine(op, count);
      }
      if (op === 'mean') kernel.divide(count, this.worldSize);
      const result = kernel.accumulator.subarray(0, count);
      target.set(result, targetOffset + chunkStart - start);
      if (publish) this.own.write(kernel.accumulatorBytes.subarray(0, count * 4), chunkStart * 4, this.shmDir, publish.name);
    }
  }
}
