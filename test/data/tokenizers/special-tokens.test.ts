import { describe, expect, it } from 'vitest';
import { resolveSpecialTokens } from '../../../data/tokenizers/special-tokens.ts';

const everyToken = () => true;

describe('resolveSpecialTokens follows transformers', () => {
  it('reads strings and AddedToken objects; null means unset', () => {
    const config = { bos_token: null, eos_token: { __type: 'AddedToken', content: '</s>', special: true }, pad_token: '<pad>', additional_special_tokens: ['<a>', { content: '<b>' }] };
    expect(resolveSpecialTokens(config, {}, everyToken)).toEqual({ eos_token: '</s>', pad_token: '<pad>', additional_special_tokens: ['<a>', '<b>'] });
  });

  it('special_tokens_map.json overrides tokenizer_config.json key by key', () => {
    expect(resolveSpecialTokens({ eos_token: '</s>', unk_token: '<unk>' }, { eos_token: '<|eot|>' }, everyToken)).toEqual({ eos_token: '<|eot|>', unk_token: '<unk>' });
  });

  it("GPT-2's class defaults only when nothing is named and <|endoftext|> exists", () => {
    const gpt2 = { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>' };
    expect(resolveSpecialTokens({ model_max_length: 1024 }, {}, everyToken)).toEqual(gpt2);
    expect(resolveSpecialTokens({ tokenizer_class: 'GPT2TokenizerFast' }, {}, everyToken)).toEqual(gpt2);
    expect(resolveSpecialTokens({ tokenizer_class: 'LlamaTokenizer' }, {}, everyToken)).toEqual({});
    expect(resolveSpecialTokens({}, {}, () => false)).toEqual({});
    expect(resolveSpecialTokens({ eos_token: '<|im_end|>' }, {}, everyToken)).toEqual({ eos_token: '<|im_end|>' });
  });
});
