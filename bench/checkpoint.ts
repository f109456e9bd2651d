/**
 * `npm run bench -- checkpoint [--iterations N] [--steps 10] [--every 2] [--rollout-batch 64]`: what checkpointing the bench-S PPO
 * trainable roles (policy and value: flat weights + Adam's two moments each) costs.
 *
 * Through the real trainer (bench/_checkpoint-stall.ts): a PPO run of `--steps` steps checkpointing every `--every`
 * steps to a loopback S3 server (s3rver). Its steps have the bench-S PPO iteration's rollout batch (64 prompts, as
 * ../shared/peers/torch_rlhf_step.py and `ppo-iteration`); `--rollout-batch 16` gives shorter steps, against which
 * the same stall is a larger share.
 * - `checkpoint_bytes`: bytes of one checkpoint as the trainer writes it (shards + state.json);
 * - `stall_fraction`: median training stall per checkpoint (what the step loop awaits: reading the roles' weights,
 *   optimizer moments and RNGs from the role actors, and the writer's in-memory copy) / median wall time of a clean
 *   step of the same run (no checkpoint before it, no upload in flight). Target: < 0.05 with asynchronous upload;
 * - `stall_fraction_every_100_steps`: the same stall amortised over 100 steps (the default `checkpoint.everySteps`);
 * - `trainer_run`: the samples, how many uploads landed while later steps ran, and the wall time of a step that
 *   runs while an upload is in flight (minus the stall), the indirect cost of the background upload here.
 *
 * In isolation, through the real CheckpointWriter, with random shards of the same sizes:
 * - `upload_gb_per_s`: checkpoint bytes / median time from `save()` to `latest` written on s3rver (hashing included);
 * - `snapshot_ms`: median time `save()` blocks the caller (the in-memory copy alone);
 * - `memcpy_gb_per_s`: copying the same bytes into preallocated memory, the physical reference for the snapshot
 *   (the snapshot also allocates its copy);
 * - `raw_put_gb_per_s`: the same objects put straight through the store (the server's own pace, the reference for
 *   the upload); `file_upload_gb_per_s`: the same saves to a file:// directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../models/rng.ts';
import { CheckpointWriter, openCheckpointStore, sha256Hex, type CheckpointStore } from '../runtime/checkpoint/index.ts';
import { LoopbackS3Server } from '../test/runtime/checkpoint/s3-server.ts';
import { measureTrainerStall } from './_checkpoint-stall.ts';
import { median } from '../algorithms/statistics.ts';
import { parseFlags } from './_flags.ts';

/** bench-S (../shared/peers/torch_rlhf_step.py): vocab 64, context 64, d_model 128, 2 layers, MLP 4x, untied head. */
const VOCAB = 64;
const CONTEXT = 64;
const WIDTH = 128;
const LAYERS = 2;

function parameterCount(headOutputs: number): number {
  const layerNorm = 2 * WIDTH;
  const linear = (inputs: number, outputs: number) => inputs * outputs + outputs;
  const block = 2 * layerNorm + linear(WIDTH, 3 * WIDTH) + linear(WIDTH, WIDTH) + linear(WIDTH, 4 * WIDTH) + linear(4 * WIDTH, WIDTH);
  return VOCAB * WIDTH + CONTEXT * WIDTH + LAYERS * block + layerNorm + linear(WIDTH, headOutputs);
}

function randomFloats(count: number, rng: Rng): Float32Array {
  const words = new Uint32Array(count);
  for (let index = 0; index < count; index++) words[index] = rng.nextUint32();
  return new Float32Array(words.buffer);
}

async function measureSaves(store: CheckpointStore, shards: Record<string, Float32Array>, iterations: number) {
  const writer = new CheckpointWriter({ store, run: 'bench', keep: 2 });
  const snapshotMs: number[] = [];
  const uploadMs: number[] = [];
  for (let iteration = 0; iteration <= iterations; iteration++) {
    const handle = writer.save((iteration + 1) * 100, { shards, state: { rng: [1, 2, 3, 4], dataCursor: iteration * 6400 } });
    const outcome = await handle.done;
    if (outcome.status !== 'saved') throw new Error(`checkpoint ${outcome.step} ${outcome.status}`);
    // The first save warms the connection pool and the JIT; it is not counted.
    if (iteration === 0) continue;
    snapshotMs.push(handle.snapshotMs);
    // From the start of the upload (hashing included) to `latest` written; retention afterwards is not counted.
    uploadMs.push(outcome.uploadMs);
  }
  await writer.flush();
  return { snapshotMs, uploadMs };
}

/** The store alone: the same objects put one after another, no hashing, manifest or latest (the server's pace). */
async function measureRawPuts(store: CheckpointStore, shards: Record<string, Float32Array>, iterations: number): Promise<number[]> {
  const putMs: number[] = [];
  for (let iteration = 0; iteration <= iterations; iteration++) {
    const started = performance.now();
    for (const [key, shard] of Object.entries(shards)) await store.put(`raw/${key}`, new Uint8Array(shard.buffer));
    if (iteration > 0) putMs.push(performance.now() - started);
  }
  return putMs;
}

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { every: 'number', iterations: 'number', 'rollout-batch': 'number', steps: 'number' });
  const positive = (name: keyof typeof flags, fallback: number, minimum = 1): number => {
    const value = Number(flags[name] ?? fallback);
    if (!Number.isInteger(value) || value < minimum) throw new Error(`--${name} must be an integer >= ${minimum}, got ${flags[name]}`);
    return value;
  };
  const iterations = positive('iterations', 5);
  const everySteps = positive('every', 2);
  const steps = positive('steps', 10, 2 * everySteps + 2);
  const rolloutBatch = positive('rollout-batch', 64);

  const rng = new Rng(20240601);
  const policyParameters = parameterCount(VOCAB);
  const valueParameters = parameterCount(1);
  const shards = {
    'policy/rank-0/weights.bin': randomFloats(policyParameters, rng),
    'policy/rank-0/optimizer.bin': randomFloats(2 * policyParameters, rng),
    'value/rank-0/weights.bin': randomFloats(valueParameters, rng),
    'value/rank-0/optimizer.bin': randomFloats(2 * valueParameters, rng),
  };
  const shardBytes = Object.values(shards).reduce((sum, shard) => sum + shard.byteLength, 0);

  // Physical reference: copy the same bytes into buffers allocated beforehand (memcpy alone, no allocation).
  const sources = Object.values(shards).map((shard) => new Uint8Array(shard.buffer));
  const destinations = sources.map((source) => new Uint8Array(source.byteLength).fill(1));
  const memcpyMs: number[] = [];
  for (let iteration = 0; iteration <= 4 * iterations; iteration++) {
    const started = performance.now();
    sources.forEach((source, index) => destinations[index]!.set(source));
    if (iteration > 0) memcpyMs.push(performance.now() - started);
  }
  const hashStarted = performance.now();
  for (const source of sources) await sha256Hex(source);
  const hashMs = performance.now() - hashStarted;

  const server = await LoopbackS3Server.start();
  const fileRoot = await mkdtemp(join(tmpdir(), 'posttrain-bench-checkpoint-'));
  try {
    const s3Store = openCheckpointStore(`s3://${server.bucket}/bench`, { s3: server.storeOptions() });
    const s3 = await measureSaves(s3Store, shards, iterations);
    const rawPutMs = await measureRawPuts(s3Store, shards, iterations);
    await s3Store.close();
    const fileStore = openCheckpointStore(`file://${fileRoot}`, { file: { logger: { warn: () => {} } as never } });
    const file = await measureSaves(fileStore, shards, iterations);
    const run = await measureTrainerStall({ steps, everySteps, rolloutBatch });

    const stateBytes = JSON.stringify({ step: 100, rng: [1, 2, 3, 4], dataCursor: 0 }).length;
    const checkpointBytes = shardBytes + stateBytes;
    const gbPerSecond = (bytes: number, ms: number) => Number((bytes / 1e9 / (ms / 1000)).toFixed(3));
    const snapshotMedian = median(s3.snapshotMs.concat(file.snapshotMs));
    const stallSeconds = median(run.stallSeconds);
    const stepSeconds = median(run.cleanStepSeconds);
    const milliseconds = (seconds: number[]) => seconds.map((each) => Number((each * 1000).toFixed(1)));
    const fraction = (value: number) => Number(value.toPrecision(3));
    process.stdout.write(
      `${JSON.stringify({
        bench: 'checkpoint',
        machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, load_average_1m: Number(loadavg()[0]!.toFixed(2)), note: 'compare figures from the same run only' },
        roles: { policy_parameters: policyParameters, value_parameters: valueParameters, shards: Object.keys(shards) },
        checkpoint_bytes: run.checkpointBytes,
        stall_fraction: fraction(stallSeconds / stepSeconds),
        stall_fraction_is: 'median stall per checkpoint / median wall time of a clean step (no checkpoint before it, no upload in flight), both from one real bench-S PPO run checkpointing to loopback s3rver',
        rollout_batch: rolloutBatch,
        stall_fraction_every_100_steps: fraction(stallSeconds / (100 * stepSeconds)),
        stall_target: 'stall_fraction < 0.05 with asynchronous upload',
        trainer_run: {
          steps: run.steps,
          checkpoint_every_steps: run.everySteps,
          stall_ms: Number((stallSeconds * 1000).toFixed(1)),
          stall_ms_samples: milliseconds(run.stallSeconds),
          step_ms: Number((stepSeconds * 1000).toFixed(1)),
          step_ms_samples: milliseconds(run.cleanStepSeconds),
          step_with_upload_in_flight_ms: Number((median(run.stepWithUploadSeconds) * 1000).toFixed(1)),
          step_with_upload_in_flight_ms_samples: milliseconds(run.stepWithUploadSeconds),
          upload_ms_samples: milliseconds(run.uploadSeconds),
          upload_gb_per_s_while_training: gbPerSecond(run.checkpointBytes, median(run.uploadSeconds) * 1000),
          checkpoints_before_the_last_step: run.checkpointsDuringTraining,
          landed_within_the_next_step: run.landedWithinNextStep,
          landed_while_steps_ran: run.landedWhileStepsRan,
        },
        synthetic_checkpoint_bytes: checkpointBytes,
        snapshot_ms: Number(snapshotMedian.toFixed(3)),
        snapshot_ms_samples: s3.snapshotMs.concat(file.snapshotMs).map((each) => Number(each.toFixed(3))),
        snapshot_gb_per_s: gbPerSecond(shardBytes, snapshotMedian),
        memcpy_gb_per_s: gbPerSecond(shardBytes, median(memcpyMs)),
        sha256_gb_per_s: gbPerSecond(shardBytes, hashMs),
        upload_gb_per_s: gbPerSecond(checkpointBytes, median(s3.uploadMs)),
        upload_ms: Number(median(s3.uploadMs).toFixed(1)),
        raw_put_gb_per_s: gbPerSecond(shardBytes, median(rawPutMs)),
        upload_target: 's3rver on loopback (objects on local disk), path-style, through CheckpointWriter: sha256 + put objects + manifest + latest',
        file_upload_gb_per_s: gbPerSecond(checkpointBytes, median(file.uploadMs)),
        iterations,
      })}\n`,
    );
  } finally {
    await server.dispose();
    await rm(fileRoot, { recursive: true, force: true });
  }
}
