import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CollectiveError } from '../errors.ts';
import type { NcclAddon } from './nccl-addon.ts';

/** Where native/build.sh (or `node-gyp rebuild` there) puts the addon; `POSTTRAIN_NCCL_ADDON` overrides. */
export function ncclAddonPath(): string {
  return process.env.POSTTRAIN_NCCL_ADDON ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'native', 'build', 'Release', 'posttrain_nccl.node');
}

let loaded: { addon: NcclAddon } | { missing: string } | undefined;

/** The NCCL addon if it was built here and loads (it links libnccl and libcudart), else why not. */
export function loadNcclAddon(): { addon: NcclAddon } | { missing: string } {
  if (loaded) return loaded;
  const addonPath = ncclAddonPath();
  const reasons: string[] = [];
  if (!fs.existsSync(addonPath)) reasons.push(`the native addon is not built (no ${addonPath})`);
  if (!['/dev/nvidiactl', '/dev/nvidia0'].some((device) => fs.existsSync(device))) reasons.push('no NVIDIA driver or GPU (/dev/nvidiactl is missing)');
  if (reasons.length === 0) {
    // The addon carries its library directories (build.sh sets the rpath): loading it is the test, and a missing
    // libnccl or libcudart is named by the loader's message.
    try {
      loaded = { addon: createRequire(import.meta.url)(addonPath) as NcclAddon };
      return loaded;
    } catch (error) {
      reasons.push(`the addon failed to load: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else if (!findLibrary('libnccl.so.2')) {
    reasons.push('no libnccl.so.2 in the library path');
  }
  loaded = { missing: reasons.join('; ') };
  return loaded;
}

/** The error for selecting `nccl` where it cannot run: says what is missing and which backends are available. */
export function ncclUnavailableError(operation: string): CollectiveError {
  const state = loadNcclAddon();
  const missing = 'missing' in state ? state.missing : 'unknown';
  return new CollectiveError(
    'COLLECTIVE_BACKEND_UNAVAILABLE',
    `the "nccl" backend needs NVIDIA NCCL and CUDA, which were not found here: ${missing}. Available backends: ` +
      '"shm" (ranks on one node) and "tcp" (ranks on any hosts). To use nccl on a GPU machine, build the addon ' +
      '(README, section Collectives).',
    { operation },
  );
}

function findLibrary(name: string): boolean {
  const directories = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':'),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/cuda/lib64',
    '/usr/local/lib',
  ].filter(Boolean);
  return directories.some((directory) => fs.existsSync(path.join(directory, name)));
}
