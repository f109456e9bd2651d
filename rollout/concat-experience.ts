/**
 * Joins experience shards (one per rollout worker) into one batch, row after row, so that advantages can be
 * whitened over the whole batch and minibatches drawn from it. Shards must share P and N.
 */
import { PosttrainError } from '../runtime/errors.ts';
import { PER_TOKEN_FIELDS, type ExperienceBatch } from './experience.ts';

/**
 * @example
 * const experience = concatExperience([fromWorker0, fromWorker1]);   // B = B0 + B1
 */
export function concatExperience(shards: readonly ExperienceBatch[]): ExperienceBatch {
  const first = shards[0];
  if (!first) throw new PosttrainError('EXPERIENCE_EMPTY', 'concatExperience needs at least one shard');
  if (shards.length === 1) return first;
  for (const [index, shard] of shards.entries()) {
    if (shard.promptLength !== first.promptLength || shard.responseLength !== first.responseLength) {
      throw new PosttrainError(
        'EXPERIENCE_SHAPE',
        `experience shard ${index} has P=${shard.promptLength}, N=${shard.responseLength}; shard 0 has P=${first.promptLength}, N=${first.responseLength}`,
      );
    }
    if (shard.weightVersion !== first.weightVersion || shard.weightChecksum !== first.weightChecksum) {
      throw new PosttrainError(
        'EXPERIENCE_WEIGHTS',
        `experience shard ${index} was generated with weights v${shard.weightVersion} (${shard.weightChecksum}), shard 0 with v${first.weightVersion} (${first.weightChecksum})`,
      );
    }
  }
  const join = <T extends Int32Array | Float32Array>(parts: T[]): T => {
    const out = new (parts[0]!.constructor as { new (length: number): T })(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  };
  const out: ExperienceBatch = {
    ...first,
    batchSize: shards.reduce((sum, shard) => sum + shard.batchSize, 0),
    sequences: join(shards.map((shard) => shard.sequences)),
    attentionMask: join(shards.map((shard) => shard.attentionMask)),
    actionMask: join(shards.map((shard) => shard.actionMask)),
    logProbs: join(shards.map((shard) => shard.logProbs)),
  };
  for (const field of PER_TOKEN_FIELDS) {
    if (shards.every((shard) => shard[field])) out[field] = join(shards.map((shard) => shard[field]!));
    else delete out[field];
  }
  for (const field of ['scores', 'promptIndices'] as const) {
    if (shards.every((shard) => shard[field])) out[field] = join(shards.map((shard) => shard[field]!) as Float32Array[]) as never;
    else delete out[field];
  }
  return out;
}
