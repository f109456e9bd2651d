import { availableParallelism, hostname, totalmem } from 'node:os';
import { existsSync, readdirSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { validateResources, type Resources } from '../resources.ts';

/** Flags of `recipe cluster join` that say what a node offers (each overrides its environment variable). */
export interface NodeResourceFlags {
  nodeName?: string;
  numCpus?: string;
  numGpus?: string;
  memory?: string;
  resources?: string;
}

/**
 * What a node advertises. Precedence: the flag, then the environment (on Kubernetes the manifests set these from
 * the pod's limits through the downward API), then the machine itself:
 * - `CPU`: `--num-cpus`, `POSTTRAIN_NODE_CPUS`, else the CPUs Node sees;
 * - `GPU`: `--num-gpus`, `POSTTRAIN_NODE_GPUS`, else `CUDA_VISIBLE_DEVICES` / `NVIDIA_VISIBLE_DEVICES` / the driver's list;
 * - `memory` (bytes): `--memory`, `POSTTRAIN_NODE_MEMORY`, else 70% of RAM;
 * - custom labels: `--resources '{"nvlink_group_0": 1}'`, `POSTTRAIN_NODE_RESOURCES`;
 * - node id: `--node-name`, `POSTTRAIN_NODE_NAME`, else the host name.
 *
 * @example
 * nodeResources({ numCpus: '8', resources: '{"ssd": 1}' }, process.env); // { nodeId: 'gpu-0', resources: { CPU: 8, GPU: 1, memory: ..., ssd: 1 } }
 */
export function nodeResources(flags: NodeResourceFlags, env: NodeJS.ProcessEnv): { nodeId: string; resources: Resources; gpuIds: string[] } {
  const issues: { path: string; message: string }[] = [];
  const number = (flag: string | undefined, variable: string, name: string, fallback: () => number): number => {
    const text = flag ?? env[variable];
    if (text === undefined || text === '') return fallback();
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) issues.push({ path: flag !== undefined ? `--${name}` : variable, message: `must be a number >= 0, got '${text}'` });
    return value;
  };
  const detected = detectGpuIds(env);
  const cpus = number(flags.numCpus, 'POSTTRAIN_NODE_CPUS', 'num-cpus', () => availableParallelism());
  const gpus = number(flags.numGpus, 'POSTTRAIN_NODE_GPUS', 'num-gpus', () => detected.length);
  const memory = number(flags.memory, 'POSTTRAIN_NODE_MEMORY', 'memory', () => Math.floor(totalmem() * 0.7));
  let custom: Record<string, number> = {};
  const customText = flags.resources ?? env.POSTTRAIN_NODE_RESOURCES;
  if (customText !== undefined && customText !== '') {
    try {
      custom = JSON.parse(customText) as Record<string, number>;
    } catch {
      issues.push({ path: flags.resources !== undefined ? '--resources' : 'POSTTRAIN_NODE_RESOURCES', message: `must be JSON like '{"ssd": 1}', got ${customText}` });
    }
  }
  if (!Number.isInteger(gpus)) issues.push({ path: '--num-gpus', message: `a node has whole GPUs, got ${gpus}` });
  const nodeId = flags.nodeName ?? env.POSTTRAIN_NODE_NAME ?? hostname();
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(nodeId)) issues.push({ path: '--node-name', message: `'${nodeId}' must be 1-100 letters, digits, _ . -` });
  if (issues.length > 0) throw new ConfigError(issues);
  const resources = validateResources({ CPU: cpus, GPU: gpus, memory, ...custom }, 'resources');
  const gpuIds = detected.length === gpus ? detected : Array.from({ length: gpus }, (_, index) => String(index));
  return { nodeId, resources, gpuIds };
}

function detectGpuIds(env: NodeJS.ProcessEnv): string[] {
  for (const variable of ['CUDA_VISIBLE_DEVICES', 'NVIDIA_VISIBLE_DEVICES']) {
    const value = env[variable];
    if (value === undefined || value === 'all' || value === 'void') continue;
    return value.split(',').map((id) => id.trim()).filter((id) => id !== '' && id !== '-1' && id !== 'none');
  }
  const directory = '/proc/driver/nvidia/gpus';
  return existsSync(directory) ? readdirSync(directory).map((_, index) => String(index)) : [];
}
