/**
 * The GPU under the `webgpu` engine backend: Dawn (npm `webgpu`, which ships Dawn's Node binding as a prebuilt
 * `dawn.node`) below tfjs's WebGPU backend (`@tensorflow/tfjs-backend-webgpu`, same version as tfjs-core).
 *
 * Adapters, in the order tried:
 * 1. Dawn's default backend (Vulkan on Linux, Metal on macOS, D3D12 on Windows), `high-performance`, full
 *    ("core") WebGPU. Taken when it is a real GPU; a software one found there (lavapipe, SwiftShader) only
 *    when `allowSoftware`.
 * 2. With `allowSoftware` only: Mesa's software OpenGL ES renderer (llvmpipe) through Dawn's `opengles` backend
 *    on EGL's surfaceless platform, at WebGPU's `compatibility` feature level. Measured on Debian 12 (Mesa
 *    22.3.6): Dawn turns Mesa's lavapipe Vulkan driver down ("Vulkan shaderUniform*ArrayDynamicIndexing
 *    required"), so GL ES is the path that runs with no GPU; it needs `libegl1 libgles2 libgl1-mesa-dri`.
 *
 * tfjs's own factory asks `navigator.gpu` for a default adapter, which finds nothing on GL ES (a compatibility
 * adapter must be asked for by name), so it is replaced by one that uses the adapter chosen here.
 */
/// <reference types="@webgpu/types" />
import { existsSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { PosttrainError } from '../runtime/errors.ts';
import { rootLogger } from '../runtime/logging.ts';

/** The adapter the `webgpu` backend runs on, as the driver describes it. */
export interface WebGpuAdapter {
  /** Vendor as the driver reports it, e.g. `nvidia` (empty on Mesa's GL ES). */
  vendor: string;
  /** GPU architecture, e.g. `hopper` (often empty). */
  architecture: string;
  /** Device name, e.g. `NVIDIA H100 80GB HBM3` or `llvmpipe-llvm-15-0-6-256-bits-`. */
  device: string;
  /** Driver description, e.g. `OpenGL version OpenGL ES 3.2 Mesa 22.3.6`. */
  description: string;
  /** Dawn backend: `default` (Vulkan / Metal / D3D12) or `opengles`. */
  dawnBackend: 'default' | 'opengles';
  /** WebGPU feature level: `core` (full WebGPU) or `compatibility` (the GL ES subset). */
  featureLevel: 'core' | 'compatibility';
  /** True for a renderer that runs on the CPU (llvmpipe, lavapipe, SwiftShader): for tests, not for speed. */
  software: boolean;
}

/** Names a CPU renderer gives itself in the adapter info (Mesa's three, Google's SwiftShader). */
const SOFTWARE_RENDERER = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

/** What to install when no adapter is found, per missing piece. */
const GPU_DRIVER_HINT = "a GPU's Vulkan driver (NVIDIA's driver ships its Vulkan ICD; Debian also needs libvulkan1)";
const SOFTWARE_HINT = "Mesa's software GL ES (Debian: apt-get install libegl1 libgles2 libgl1-mesa-dri)";

type Dawn = { create(options: string[]): GPU; globals: object };
/** The fields of `GPUAdapterInfo` read here. */
export type AdapterInfoLike = { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };

/** Keeps Dawn's instance referenced for as long as the process runs tensors on it. */
const liveInstances = new Set<GPU>();

/**
 * Whether this machine exposes a GPU device node at all, so that `auto` probes Dawn only where a GPU may be
 * (probing loads a 20 MB native module and prints driver warnings on machines without one). macOS and Windows
 * always answer yes: their GPUs have no device node to look for.
 *
 * @example
 * if (gpuDeviceNodePresent()) await startWebGpuBackend({ allowSoftware: false });
 */
export function gpuDeviceNodePresent(): boolean {
  if (process.platform !== 'linux') return true;
  if (existsSync('/dev/nvidiactl') || existsSync('/dev/kfd')) return true;
  try {
    return readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}

/**
 * Finds an adapter, opens a device on it and registers it as tfjs's `webgpu` backend (not yet activated:
 * `tf.setBackend('webgpu')` does that). Throws a PosttrainError naming what is missing when no allowed adapter
 * is found; `allowSoftware` lets a CPU renderer count.
 *
 * @example
 * const adapter = await startWebGpuBackend({ allowSoftware: true });
 * await tf.setBackend('webgpu');
 * describeAdapter(adapter); // 'llvmpipe-llvm-15-0-6-256-bits- (OpenGL version OpenGL ES 3.2 Mesa 22.3.6; ...)'
 */
export async function startWebGpuBackend({ allowSoftware }: { allowSoftware: boolean }): Promise<WebGpuAdapter> {
  const dawn = await importPackage<Dawn>('webgpu', 'webgpu@0.6.2');
  // tfjs-backend-webgpu reads the WebGPU constants (GPUBufferUsage, GPUMapMode, ...) as globals, as in a browser.
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  const found = await findAdapter(dawn, allowSoftware);
  installNavigatorGpu(found.gpu);
  const backendModule = await importPackage<typeof import('@tensorflow/tfjs-backend-webgpu')>(
    '@tensorflow/tfjs-backend-webgpu',
    `@tensorflow/tfjs-backend-webgpu@${tf.version_core}`,
  );
  const device = await found.adapter.requestDevice({ requiredLimits: limitsTfjsNeeds(found.adapter) });
  watchDevice(device);
  liveInstances.add(found.gpu);
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new backendModule.WebGPUBackend(device, adapterInfo(found.adapter) as GPUAdapterInfo), 3);
  return found.description;
}

/** One line for the engine log: device, driver, backend, feature level, and whether it is software. */
export function describeAdapter(adapter: WebGpuAdapter): string {
  const vendor = [adapter.vendor, adapter.architecture].filter(Boolean).join('/') || 'vendor not reported';
  return `${adapter.device || 'unnamed adapter'} (${adapter.description || 'no description'}; ${vendor}; Dawn ${adapter.dawnBackend}, ${adapter.featureLevel}; ${
    adapter.software ? 'software renderer on the CPU' : 'hardware GPU'
  })`;
}

async function findAdapter(dawn: Dawn, allowSoftware: boolean): Promise<{ gpu: GPU; adapter: GPUAdapter; description: WebGpuAdapter }> {
  const tried: string[] = [];
  const gpu = dawn.create([]);
  const native = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (native) {
    const description = describe(native, 'default', 'core');
    if (!description.software || allowSoftware) return { gpu, adapter: native, description };
    tried.push(`Dawn's default backend found only ${describeAdapter(description)}`);
  } else {
    tried.push(`Dawn's default backend (Vulkan/Metal/D3D12) found no adapter: install ${GPU_DRIVER_HINT}`);
  }
  if (allowSoftware && process.platform === 'linux') {
    // Mesa reads EGL_PLATFORM when Dawn opens its EGL display; surfaceless needs neither X11 nor Wayland.
    process.env.EGL_PLATFORM ||= 'surfaceless';
    const glesGpu = dawn.create(['backend=opengles']);
    const gles = await glesGpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
    if (gles) return { gpu: glesGpu, adapter: gles, description: describe(gles, 'opengles', 'compatibility') };
    tried.push(`Dawn's opengles backend found no adapter (EGL_PLATFORM=${process.env.EGL_PLATFORM}): install ${SOFTWARE_HINT}`);
  }
  if (!allowSoftware) tried.push('a software renderer is used only when the backend is forced (POSTTRAIN_BACKEND=webgpu)');
  throw new PosttrainError('ENGINE_BACKEND_UNAVAILABLE', `webgpu: no usable adapter; ${tried.join('; ')} (Dawn's own warnings, above, say more)`, {
    path: 'engine.backend',
  });
}

function describe(adapter: GPUAdapter, dawnBackend: WebGpuAdapter['dawnBackend'], featureLevel: WebGpuAdapter['featureLevel']): WebGpuAdapter {
  const info = adapterInfo(adapter);
  const named = { vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '' };
  return { ...named, dawnBackend, featureLevel, software: isSoftwareAdapter(info) };
}

/**
 * Whether an adapter renders on the CPU: WebGPU's fallback flag, or a software renderer's name in its info
 * (Dawn does not flag Mesa's llvmpipe under GL ES as a fallback adapter).
 *
 * @example
 * isSoftwareAdapter({ device: 'llvmpipe-llvm-15-0-6-256-bits-', isFallbackAdapter: false }); // true
 * isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100 80GB HBM3' }); // false
 */
export function isSoftwareAdapter(info: AdapterInfoLike): boolean {
  return Boolean(info.isFallbackAdapter) || SOFTWARE_RENDERER.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

/** `GPUAdapter.info` (newer than the @webgpu/types that tfjs-core pins). */
function adapterInfo(adapter: GPUAdapter): AdapterInfoLike {
  return (adapter as GPUAdapter & { info: AdapterInfoLike }).info;
}

/** Sets `navigator.gpu` the way the `webgpu` package documents it (Node 20 has no `navigator`; Node 21+ does). */
function installNavigatorGpu(gpu: GPU): void {
  const holder = globalThis as { navigator?: object };
  if (holder.navigator) Object.defineProperty(holder.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
}

/** The limits tfjs's own factory raises to the adapter's maxima (large storage buffers, big workgroups). */
function limitsTfjsNeeds(adapter: GPUAdapter): Record<string, number> {
  const limits = adapter.limits;
  return {
    maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
    maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxBufferSize: limits.maxBufferSize,
    maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
    maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
  };
}

/** Validation errors and device loss would otherwise surface only as wrong numbers; log them. */
function watchDevice(device: GPUDevice): void {
  const logger = rootLogger().child({ component: 'engine' });
  device.addEventListener('uncapturederror', (event) => {
    logger.error({ gpuError: (event as GPUUncapturedErrorEvent).error.message }, 'webgpu: uncaptured GPU error');
  });
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') logger.error({ reason: info.reason, message: info.message }, 'webgpu: GPU device lost');
  });
}

async function importPackage<Module>(name: string, installAs: string): Promise<Module> {
  try {
    return (await import(name)) as Module;
  } catch (error) {
    const notInstalled = (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
    const cause = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new PosttrainError(
      'ENGINE_BACKEND_UNAVAILABLE',
      notInstalled ? `webgpu: ${name} is not installed; install it with \`npm install ${installAs}\`` : `webgpu: ${name} cannot load (${cause})`,
      { path: 'engine.backend', cause: error },
    );
  }
}
