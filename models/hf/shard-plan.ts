/**
 * Which tensors go into which safetensors shard, decided as transformers 4.47's `save_pretrained` decides it
 * (`huggingface_hub.split_torch_state_dict_into_shards`): walk the tensors in state-dict order, filling a shard
 * until the next tensor would take it over `maxShardBytes`; a tensor larger than the limit alone gets a shard of
 * its own (placed before the shard being filled). Shards are named `model-0000k-of-0000n.safetensors`; a single
 * shard is `model.safetensors` with no index.
 */

/** The files a checkpoint is written as. */
export interface ShardPlan {
  /** File name -> tensor names in it, in the order shards are numbered. */
  files: Map<string, string[]>;
  /** Tensor name -> file name (the index's `weight_map`). */
  weightMap: Record<string, string>;
  /** Sum of every tensor's bytes in the stored dtype (the index's `metadata.total_size`). */
  totalSize: number;
}

/**
 * Splits tensors, given in state-dict order with their stored sizes in bytes, into shards.
 *
 * @example
 * planShards([['a', 60], ['b', 60], ['c', 30]], 100).files;
 * // Map { 'model-00001-of-00002.safetensors' => ['a'], 'model-00002-of-00002.safetensors' => ['b', 'c'] }
 */
export function planShards(tensors: [name: string, bytes: number][], maxShardBytes: number): ShardPlan {
  const shards: string[][] = [];
  let current: string[] = [];
  let currentSize = 0;
  let totalSize = 0;
  for (const [name, bytes] of tensors) {
    totalSize += bytes;
    if (bytes > maxShardBytes) {
      shards.push([name]);
      continue;
    }
    if (currentSize + bytes > maxShardBytes) {
      shards.push(current);
      current = [];
      currentSize = 0;
    }
    current.push(name);
    currentSize += bytes;
  }
  if (current.length > 0) shards.push(current);
  const files = new Map<string, string[]>();
  const weightMap: Record<string, string> = {};
  const width = (value: number) => String(value).padStart(5, '0');
  shards.forEach((names, index) => {
    const file = shards.length === 1 ? 'model.safetensors' : `model-${width(index + 1)}-of-${width(shards.length)}.safetensors`;
    files.set(file, names);
    for (const name of names) weightMap[name] = file;
  });
  return { files, weightMap, totalSize };
}
