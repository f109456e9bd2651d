/**
 * The Hugging Face fixture checks, registered once per backend by fixtures.test.ts (wasm, cpu, cpu with the
 * fused kernels off) and fixtures-webgpu.test.ts (webgpu): for every fixture of ../shared/fixtures/hf, logits
 * and next-token log-probs within TOLERANCE of transformers' float32 values (max abs), identical greedy
 * continuations with the KV cache, and reward scores for left and right padding. The caller makes the backend
 * active before these run (a `beforeAll` registered ahead of `hfFixtureCases`).
 *
 * Every read is `await tensor.data()` / `array()`: webgpu cannot read synchronously in all cases.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HfDecoder } from '../../../models/hf/decoder.ts';
import { parseHfConfig } from '../../../models/hf/hf-config.ts';
import { type PretrainedModel, loadPretrained } from '../../../models/hf/pretrained.ts';
import { readSafetensorsFolder } from '../../../models/hf/safetensors.ts';
import { FIXTURES } from './hf-fixtures.ts';

/** Every causal-LM fixture folder; `llama-reward` is the one sequence classifier. */
const CAUSAL_FIXTURES = ['gpt2', 'llama-gqa-llama3rope', 'llama-tied', 'qwen2', 'qwen3', 'qwen2-bf16', 'llama-sharded'];

/** The fixtures' tolerance: max |ours - transformers' float32| on logits, log-probs and scores. */
const TOLERANCE = 1e-4;

interface CausalCase {
  input_ids: number[][];
  attention_mask: number[][];
  position_ids: number[][];
  logits_positions: number[];
  logits_f32: number[][][];
  next_token_logprobs_f32: (number | null)[][];
  greedy: { max_new_tokens: number; eos_token_id: number | number[]; sequences: number[][]; new_tokens: number[][]; generate_kwargs: Record<string, unknown> };
}

interface RewardCase {
  input_ids: number[][];
  attention_mask: number[][];
  position_ids: number[][];
  score_position: number[];
  scores_f32: number[];
}

export interface HfFixtureOptions {
  /** The backend's name, for the line of measured errors printed after the suite. */
  backend: string;
}

function expected<T>(fixture: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, fixture, 'expected.json'), 'utf8')) as T;
}

/** max |a - b| over the logits stored for `positions`. */
function logitsError(logits: number[][][], positions: number[], reference: number[][][]): number {
  let worst = 0;
  reference.forEach((row, b) => row.forEach((vector, k) => vector.forEach((value, v) => (worst = Math.max(worst, Math.abs(logits[b]![positions[k]!]![v]! - Math.fround(value)))))));
  return worst;
}

/** max |log_softmax(logits[b, t])[ids[b, t+1]] - reference| where the reference is not null. */
function logProbError(logits: number[][][], inputIds: number[][], reference: (number | null)[][]): number {
  let worst = 0;
  reference.forEach((row, b) =>
    row.forEach((value, t) => {
      if (value === null) return;
      const vector = logits[b]![t]!;
      const max = Math.max(...vector);
      const logSum = max + Math.log(vector.reduce((sum, logit) => sum + Math.exp(logit - max), 0));
      worst = Math.max(worst, Math.abs(vector[inputIds[b]![t + 1]!]! - logSum - value));
    }),
  );
  return worst;
}

async function forwardLogits(model: PretrainedModel, testCase: CausalCase): Promise<number[][][]> {
  const { logits } = await model.forward({ inputIds: testCase.input_ids, attentionMask: testCase.attention_mask, positionIds: testCase.position_ids });
  const values = (await logits.array()) as number[][][];
  logits.dispose();
  return values;
}

/**
 * Registers the fixture checks on the active backend and prints the largest error measured per fixture and
 * quantity afterwards (one line, so drift between backends is visible in CI logs).
 *
 * @example
 * describe('Hugging Face fixtures on webgpu', () => {
 *   beforeAll(async () => { await initEngine({ backend: 'webgpu' }); });
 *   hfFixtureCases({ backend: 'webgpu' });
 * });
 */
export function hfFixtureCases({ backend }: HfFixtureOptions): void {
  /** Largest |ours - transformers| per `<fixture> <quantity>`, over the cases. */
  const measured: Record<string, number> = {};
  const record = (key: string, error: number) => (measured[key] = Math.max(measured[key] ?? 0, error));
  afterAll(() => {
    const rounded = Object.fromEntries(Object.entries(measured).map(([key, error]) => [key, Number(error.toPrecision(2))]));
    console.info(`${backend} vs transformers float32, largest |difference| per fixture: ${JSON.stringify(rounded)}`);
  });

  for (const fixture of CAUSAL_FIXTURES) {
    describe(fixture, () => {
      const reference = expected<{ cases: { batch: CausalCase; single: CausalCase } }>(fixture);
      let model: PretrainedModel;
      beforeAll(async () => {
        model = await loadPretrained(join(FIXTURES, fixture));
      });
      afterAll(() => model.dispose());

      for (const caseName of ['batch', 'single'] as const) {
        it(`${caseName}: logits and next-token log-probs within 1e-4 of transformers' float32`, async () => {
          const testCase = reference.cases[caseName];
          const logits = await forwardLogits(model, testCase);
          expect(logits.length).toBe(testCase.input_ids.length);
          expect(logits[0]!.length).toBe(testCase.input_ids[0]!.length);
          // Pad query rows (which see no key) attend uniformly instead of turning into NaN.
          expect(logits.flat(2).every(Number.isFinite)).toBe(true);
          const logitsWorst = logitsError(logits, testCase.logits_positions, testCase.logits_f32);
          const logProbWorst = logProbError(logits, testCase.input_ids, testCase.next_token_logprobs_f32);
          record(`${fixture} logits`, logitsWorst);
          record(`${fixture} logprobs`, logProbWorst);
          expect(logitsWorst).toBeLessThanOrEqual(TOLERANCE);
          expect(logProbWorst).toBeLessThanOrEqual(TOLERANCE);
        });

        it(`${caseName}: greedy generation with the KV cache gives transformers' tokens`, async () => {
          const testCase = reference.cases[caseName];
          const { greedy } = testCase;
          const padTokenId = greedy.generate_kwargs.pad_token_id as number | undefined;
          const { sequences, newTokens } = await model.generate({
            inputIds: testCase.input_ids,
            attentionMask: testCase.attention_mask,
            maxNewTokens: greedy.max_new_tokens,
            padTokenId,
          });
          expect(newTokens).toEqual(greedy.new_tokens);
          expect(sequences).toEqual(greedy.sequences);
        });
      }
    });
  }

  it('llama3 RoPE scaling matters: the same weights without it miss the reference by far more than 1e-4', async () => {
    const fixture = 'llama-gqa-llama3rope';
    const raw = JSON.parse(readFileSync(join(FIXTURES, fixture, 'config.json'), 'utf8'));
    const unscaled = HfDecoder.fromTensors(parseHfConfig({ ...raw, rope_scaling: null }), readSafetensorsFolder(join(FIXTURES, fixture)));
    const testCase = expected<{ cases: { batch: CausalCase } }>(fixture).cases.batch;
    const { input_ids: ids, attention_mask: mask, position_ids: positions } = testCase;
    const tensor = unscaled.logits({
      tokens: Int32Array.from(ids.flat()),
      batchSize: ids.length,
      length: ids[0]!.length,
      attentionMask: Int32Array.from(mask.flat()),
      positionIds: Int32Array.from(positions.flat()),
    });
    const logits = (await tensor.array()) as number[][][];
    tensor.dispose();
    unscaled.dispose();
    expect(logitsError(logits, testCase.logits_positions, testCase.logits_f32)).toBeGreaterThan(0.5);
  });

  describe('llama-reward', () => {
    const reference = expected<{ cases: Record<'batch_left_padded' | 'batch_right_padded' | 'single', RewardCase> }>('llama-reward');
    let model: PretrainedModel;
    beforeAll(async () => {
      model = await loadPretrained(join(FIXTURES, 'llama-reward'));
    });
    afterAll(() => model.dispose());

    for (const caseName of ['batch_left_padded', 'batch_right_padded', 'single'] as const) {
      it(`${caseName}: scores within 1e-4 of transformers' float32, pooled as transformers 4.47 pools`, async () => {
        const testCase = reference.cases[caseName];
        const { logits } = await model.forward({ inputIds: testCase.input_ids, attentionMask: testCase.attention_mask, positionIds: testCase.position_ids });
        expect(logits.shape).toEqual([testCase.input_ids.length, 1]);
        const scores = ((await logits.array()) as number[][]).map((row) => row[0]!);
        logits.dispose();
        const error = (values: number[]) => Math.max(...values.map((score, b) => Math.abs(score - Math.fround(testCase.scores_f32[b]!))));
        record('llama-reward scores', error(scores));
        expect(error(scores)).toBeLessThanOrEqual(TOLERANCE);
        // The role-facing head (last real token by the mask) reads the same positions.
        const { input_ids: ids, attention_mask: mask } = testCase;
        const roleScores = model.decoder.scores({ tokens: Int32Array.from(ids.flat()), batchSize: ids.length, length: ids[0]!.length, attentionMask: Int32Array.from(mask.flat()) });
        const values = Array.from(await roleScores.data());
        roleScores.dispose();
        expect(values).toHaveLength(ids.length);
        record('llama-reward role scores', error(values));
        expect(error(values)).toBeLessThanOrEqual(TOLERANCE);
      });
    }
  });
}
