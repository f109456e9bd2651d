/**
 * The training stall of checkpointing, measured through the real trainer: a bench-S PPO run (every role colocated
 * in one worker) that checkpoints every `everySteps` steps to a loopback S3 server (s3rver).
 *
 * - The stall of one checkpoint is what the step loop awaits before the next step (trainers/durable-run.ts
 *   `stepDone`): reading every trainable role's flat weights and Adam moments and every sampler RNG from the role
 *   actors, and the writer's in-memory copy. The trainer measures it itself (`LandedCheckpoint.stallSeconds`, also
 *   on the metrics line as `checkpoint.stallSeconds`).
 * - A clean step is the wall time from one metrics line to the next when no checkpoint was taken between them and
 *   no upload was in flight: with `everySteps` 2 that is every step that ends a checkpoint interval.
 * - A step right after a checkpoint runs while its upload is in flight (hashing on the driver, s3rver in this same
 *   process): its wall time minus the stall shows what the background upload costs the step on this machine.
 */
import { Runtime } from '../runtime/index.ts';
import type { LandedCheckpoint } from '../trainers/checkpointing.ts';
import { PPOTrainer } from '../trainers/ppo-trainer.ts';
import { LoopbackS3Server } from '../test/runtime/checkpoint/s3-server.ts';
import { benchPpoConfig, benchPpoRoot } from './_ppo-run.ts';
import { median } from '../algorithms/statistics.ts';

export interface StallMeasurement {
  steps: number;
  everySteps: number;
  /** Bytes of one checkpoint as the trainer writes it (shards, state.json). */
  checkpointBytes: number;
  /** Per checkpoint (the final one included): seconds the loop waited. */
  stallSeconds: number[];
  /** Per checkpoint: seconds from the copy to `latest` written, while training went on. */
  uploadSeconds: number[];
  /** Wall seconds of clean steps (no checkpoint before them, no upload in flight). */
  cleanStepSeconds: number[];
  /** Wall seconds of steps right after a checkpoint, minus that checkpoint's stall (upload in flight). */
  stepWithUploadSeconds: number[];
  /** Checkpoints other than the final one, and how many of them landed before the next step ended. */
  checkpointsDuringTraining: number;
  landedWithinNextStep: number;
  /** Checkpoints that landed while a later step was running (their upload overlapped training). */
  landedWhileStepsRan: number;
}

interface Landing {
  checkpoint: LandedCheckpoint;
  /** performance.now() when the trainer reported it landed. */
  at: number;
}

/**
 * @example
 * const stall = await measureTrainerStall({ steps: 10, everySteps: 2, rolloutBatch: 64 });
 * median(stall.stallSeconds) / median(stall.cleanStepSeconds); // the stall as a share of a step
 */
export async function measureTrainerStall(options: { steps: number; everySteps: number; rolloutBatch: number }): Promise<StallMeasurement> {
  const { steps, everySteps, rolloutBatch } = options;
  const server = await LoopbackS3Server.start();
  // The trainer finds credentials through the standard AWS chain; s3rver accepts its default pair.
  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
  const runtime = await Runtime.start({ namespace: 'bench-checkpoint' });
  try {
    const root = benchPpoRoot('checkpoint');
    const trainer = new PPOTrainer(
      benchPpoConfig(root, {
        name: 'stall',
        rollout: { batchSize: rolloutBatch },
        trainer: { steps, learningRate: 1e-4, evalEvery: 0, evalPrompts: 4, evalSamplesPerPrompt: 1 },
        checkpoint: { uri: `s3://${server.bucket}/bench`, endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', everySteps, keep: 2, resume: 'never' },
      }),
      { runtime },
    );
    const lineAt = new Map<number, number>();
    const landings: Landing[] = [];
    trainer.on('step', (record) => lineAt.set(record.step, performance.now()));
    trainer.on('checkpoint', (checkpoint) => landings.push({ checkpoint, at: performance.now() }));
    await trainer.train();
    return summarise(steps, everySteps, lineAt, landings);
  } finally {
    await runtime.shutdown();
    await server.dispose();
  }
}

function summarise(steps: number, everySteps: number, lineAt: Map<number, number>, landings: Landing[]): StallMeasurement {
  const byStep = new Map(landings.map((landing) => [landing.checkpoint.step, landing]));
  if (byStep.size === 0) throw new Error('the run landed no checkpoint');
  const cleanStepSeconds: number[] = [];
  const stepWithUploadSeconds: number[] = [];
  // Step 1 has no line before it (and warms the JIT); step 2 is the first interval.
  for (let step = 2; step <= steps; step++) {
    const seconds = (lineAt.get(step)! - lineAt.get(step - 1)!) / 1000;
    const previous = byStep.get(step - 1);
    if (previous) {
      stepWithUploadSeconds.push(seconds - previous.checkpoint.stallSeconds);
      continue;
    }
    // No checkpoint right before this step: clean when no upload was still running when it started.
    const uploading = landings.some((landing) => landing.checkpoint.step < step - 1 && landing.at > lineAt.get(step - 1)!);
    if (!uploading) cleanStepSeconds.push(seconds);
  }
  const during = landings.filter((landing) => landing.checkpoint.step < steps);
  return {
    steps,
    everySteps,
    checkpointBytes: median(landings.map((landing) => landing.checkpoint.bytes)),
    stallSeconds: landings.map((landing) => landing.checkpoint.stallSeconds),
    uploadSeconds: landings.map((landing) => landing.checkpoint.uploadSeconds),
    cleanStepSeconds,
    stepWithUploadSeconds,
    checkpointsDuringTraining: during.length,
    landedWithinNextStep: during.filter((landing) => landing.at <= lineAt.get(landing.checkpoint.step + 1)!).length,
    landedWhileStepsRan: during.filter((landing) => landing.at <= lineAt.get(steps)!).length,
  };
}
