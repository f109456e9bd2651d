/**
 * `npm run bench -- hf-folder [--parameters 50000000] [--iterations 3]`: how fast a Hugging Face folder is written
 * (`writeHfFolder`) and read (`readHfFolder`), in float32 and bfloat16, against the physical reference of the same
 * run: the same number of bytes written with one `writeFileSync` and read with one `readFileSync` in the same
 * directory (no header, no conversion), and a memcpy of them.
 *
 * Tensors have a 24-layer decoder's shapes (embedding, q/k/v/o, gate/up/down, norms), scaled to `--parameters`.
 * Figures are GB/s of float32 data handled (for bfloat16, the float32 values converted), medians over iterations.
 * Python's safetensors is not installed here, so no Python peer runs; the raw file I/O is the limit to compare.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHfFolder, writeHfFolder, type HfDtype } from '../models/hf/hf-folder.ts';
import { parseFlags } from './_flags.ts';

const LAYERS = 24;

function syntheticTensors(parameters: number): [string, { shape: number[]; data: Float32Array }][] {
  // hidden h, MLP 4h, vocab 8h: per layer 4h^2 + 12h^2 + 2h = 16h^2 (+2h), plus 8h^2 embedding and h final norm.
  const hidden = Math.max(8, Math.round(Math.sqrt(parameters / (16 * LAYERS + 8))));
  const tensor = (shape: number[]) => {
    const data = new Float32Array(shape.reduce((product, size) => product * size, 1));
    for (let index = 0; index < data.length; index++) data[index] = Math.sin(index) * 0.02;
    return { shape, data };
  };
  const tensors: [string, { shape: number[]; data: Float32Array }][] = [['model.embed_tokens.weight', tensor([8 * hidden, hidden])]];
  for (let layer = 0; layer < LAYERS; layer++) {
    const prefix = `model.layers.${layer}`;
    for (const projection of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) tensors.push([`${prefix}.self_attn.${projection}.weight`, tensor([hidden, hidden])]);
    tensors.push([`${prefix}.mlp.gate_proj.weight`, tensor([4 * hidden, hidden])], [`${prefix}.mlp.up_proj.weight`, tensor([4 * hidden, hidden])]);
    tensors.push([`${prefix}.mlp.down_proj.weight`, tensor([hidden, 4 * hidden])]);
    tensors.push([`${prefix}.input_layernorm.weight`, tensor([hidden])], [`${prefix}.post_attention_layernorm.weight`, tensor([hidden])]);
  }
  tensors.push(['model.norm.weight', tensor([hidden])]);
  return tensors;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function timeMs(work: () => void, iterations: number): number {
  work(); // warm-up: page cache, JIT
  const samples: number[] = [];
  for (let iteration = 0; iteration < iterations; iteration++) {
    const start = performance.now();
    work();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { iterations: 'number', parameters: 'number' });
  const iterations = Number(flags.iterations ?? 3);
  const tensors = syntheticTensors(Number(flags.parameters ?? 50_000_000));
  const parameters = tensors.reduce((sum, [, tensor]) => sum + tensor.data.length, 0);
  const float32Bytes = parameters * 4;
  const gbPerSecond = (milliseconds: number) => Number((float32Bytes / 1e9 / (milliseconds / 1000)).toFixed(3));
  const directory = mkdtempSync(join(tmpdir(), 'bench-hf-folder-'));
  const config = { architectures: ['LlamaForCausalLM'], model_type: 'llama', num_hidden_layers: LAYERS, transformers_version: '4.47.0' };
  try {
    const ours: Record<string, number> = {};
    for (const dtype of ['float32', 'bfloat16'] as HfDtype[]) {
      const folder = join(directory, dtype);
      ours[`write_${dtype}_gb_per_s`] = gbPerSecond(timeMs(() => writeHfFolder(folder, { config, tensors, dtype }), iterations));
      ours[`read_${dtype}_gb_per_s`] = gbPerSecond(timeMs(() => readHfFolder(folder), iterations));
    }
    const raw = Buffer.alloc(float32Bytes, 7);
    const rawPath = join(directory, 'raw.bin');
    const rawWrite = gbPerSecond(timeMs(() => writeFileSync(rawPath, raw), iterations));
    const rawRead = gbPerSecond(timeMs(() => readFileSync(rawPath), iterations));
    const target = Buffer.alloc(float32Bytes);
    const memcpy = gbPerSecond(timeMs(() => raw.copy(target), iterations));
    const result = {
      bench: 'hf-folder',
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg_1m: loadavg()[0], node: process.version, directory: tmpdir() },
      parameters,
      float32_bytes: float32Bytes,
      iterations,
      ...ours,
      peer: { raw_write_gb_per_s: rawWrite, raw_read_gb_per_s: rawRead, memcpy_gb_per_s: memcpy },
      ratio: {
        write_float32_vs_raw_write: Number((ours.write_float32_gb_per_s! / rawWrite).toFixed(3)),
        read_float32_vs_raw_read: Number((ours.read_float32_gb_per_s! / rawRead).toFixed(3)),
        write_bfloat16_vs_raw_write: Number((ours.write_bfloat16_gb_per_s! / rawWrite).toFixed(3)),
        read_bfloat16_vs_raw_read: Number((ours.read_bfloat16_gb_per_s! / rawRead).toFixed(3)),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
