/**
 * One supervised training step (forward, backward, Adam) of a Llama through posttrain's real code, LoRA against
 * full fine-tuning of the same model in the same run (the peer): seconds per step, trainable parameters, and the
 * bytes a step moves (weights published to rollout workers and a checkpoint shard with Adam's two moments).
 *
 *   8 rows x 64 tokens, next-token cross-entropy; LoRA rank 8, alpha 16 on q_proj, k_proj, v_proj, o_proj
 *
 * Prints one JSON line with both figures, the ratios and the machine (its load average: the machine may be shared).
 *
 *   npm run bench -- lora-step [--shape tiny|small] [--threads 2] [--iters 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { sftLoss } from '../algorithms/losses/sft.ts';
import { median } from '../algorithms/statistics.ts';
import { Adam } from '../models/adam.ts';
import type { CausalModel } from '../models/causal-model.ts';
import { computeGradientsAsync } from '../models/compute-gradients.ts';
import { initEngine } from '../models/engine.ts';
import { initLlamaFolder, SMOLLM2_135M, type LlamaShape } from '../models/hf/init-model.ts';
import { createModel } from '../models/model-spec.ts';
import { Rng } from '../models/rng.ts';
import { parseFlags } from './_flags.ts';
import { machineInfo, ratio } from './_peer.ts';

const SHAPES: Record<string, LlamaShape> = {
  tiny: { ...SMOLLM2_135M, vocab_size: 512, hidden_size: 64, intermediate_size: 192, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 },
  small: { ...SMOLLM2_135M, vocab_size: 2048, hidden_size: 256, intermediate_size: 768, num_hidden_layers: 4, num_attention_heads: 8, num_key_value_heads: 4 },
};
const ROWS = 8;
const TOKENS = 64;
const LORA = { rank: 8, alpha: 16, dropout: 0, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as ('q_proj' | 'k_proj' | 'v_proj' | 'o_proj')[] };

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { shape: 'string', threads: 'number', iters: 'number' });
  const shapeName = String(flags.shape ?? 'tiny');
  const shape = SHAPES[shapeName];
  if (!shape) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(', ')}`);
  const iterations = Number(flags.iters ?? 3);
  const engine = await initEngine({ threads: Number(flags.threads ?? 2) });
  const directory = mkdtempSync(join(tmpdir(), 'lora-step-'));
  try {
    initLlamaFolder(directory, shape, { seed: 1 });
    const rng = new Rng(2);
    const tokens = Int32Array.from({ length: ROWS * TOKENS }, () => rng.int(shape.vocab_size));
    const full = measure(createModel({ kind: 'hf', directory }, 'language', 0), tokens, iterations);
    const lora = measure(createModel({ kind: 'hf', directory, lora: LORA }, 'language', 0), tokens, iterations);
    const result = {
      bench: 'lora-step',
      shape: shapeName,
      backend: engine.backend,
      threads: engine.threads,
      workload: { rows: ROWS, tokens: TOKENS, lora: LORA },
      lora: await lora,
      peer: { name: 'full fine-tuning, same model and batch, same run', ...(await full) },
      ratios: {} as Record<string, number | null>,
      machine: machineInfo(),
    };
    result.ratios = {
      stepSeconds: ratio(result.lora.stepSeconds, result.peer.stepSeconds),
      trainableParameters: ratio(result.lora.trainableParameters, result.peer.trainableParameters),
      checkpointBytes: ratio(result.lora.checkpointBytes, result.peer.checkpointBytes),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Median seconds of a training step after one warm-up, and the sizes of what the step moves. */
async function measure(model: CausalModel, tokens: Int32Array, iterations: number) {
  const adam = new Adam(model.parameters.size, { learningRate: 1e-4 });
  const targets = tf.tensor2d(tokens.map((_, i) => tokens[(i + 1) % tokens.length]!), [ROWS, TOKENS], 'int32');
  const mask = tf.ones([ROWS, TOKENS]) as tf.Tensor2D;
  const seconds: number[] = [];
  for (let i = 0; i <= iterations; i++) {
    const started = performance.now();
    const { gradients } = await computeGradientsAsync(model, () => sftLoss(model.logits({ tokens, batchSize: ROWS, length: TOKENS }), targets, mask));
    adam.step(model.parameters.data, gradients);
    model.refresh();
    if (i > 0) seconds.push((performance.now() - started) / 1000);
  }
  targets.dispose();
  mask.dispose();
  model.dispose();
  const trainableParameters = model.parameters.size;
  return { stepSeconds: median(seconds), trainableParameters, publishedBytes: 4 * trainableParameters, checkpointBytes: 3 * 4 * trainableParameters };
}
