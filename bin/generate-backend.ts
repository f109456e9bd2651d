/**
 * What `recipe generate` runs on: the engine, `loadPretrained` and `loadTokenizer`, loaded only when the command
 * runs (the tensor engine takes a moment to start, and other commands do not need it). Greedy decoding is
 * transformers' `generate(do_sample=False)`; otherwise tokens are sampled at temperature 1 with rollout's sampler.
 */
import type { GenerateDependencies, GeneratingModel } from './commands/generate.ts';

export const generateBackend: GenerateDependencies = {
  async loadPretrained(directory: string): Promise<GeneratingModel> {
    const [{ initEngine }, { loadPretrained }, { generate }, { Rng }, { rootLogger, setRootLogger }] = await Promise.all([
      import('../models/engine.ts'),
      import('../models/hf/pretrained.ts'),
      import('../rollout/generate.ts'),
      import('../models/rng.ts'),
      import('../runtime/logging.ts'),
    ]);
    // The continuation is the command's output: the engine's info line stays off stdout.
    if (rootLogger().level === 'info') setRootLogger(rootLogger().child({}, { level: 'warn' }));
    await initEngine();
    const model = await loadPretrained(directory);
    return {
      async generate({ inputIds, maxNewTokens, greedy, eosTokenId }) {
        const eosTokenIds = eosTokenId === undefined ? undefined : [eosTokenId].flat();
        if (greedy) return (await model.generate({ inputIds, maxNewTokens, ...(eosTokenIds ? { eosTokenIds } : {}) })).sequences;
        const length = inputIds[0]!.length;
        const generation = await generate(
          model.decoder,
          { tokens: Int32Array.from(inputIds.flat()), batchSize: inputIds.length, length },
          { maxNewTokens, rng: new Rng(Date.now() % 2 ** 31), temperature: 1, ...(eosTokenIds ? { eosToken: eosTokenIds[0]! } : {}) },
        );
        const width = length + maxNewTokens;
        return inputIds.map((_, row) => Array.from(generation.sequences.subarray(row * width, (row + 1) * width)));
      },
    };
  },
  async loadTokenizer(directory: string) {
    const { loadTokenizer } = await import('../data/tokenizers/hf-tokenizer.ts');
    return loadTokenizer(directory);
  },
};
