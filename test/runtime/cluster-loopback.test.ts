import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorCreationError, Runtime } from '../../runtime/index.ts';
import { HeadService, NodeAgent, nodeResources } from '../../runtime/cluster/index.ts';
import type { Counter } from './fixtures/test-actors.ts';
import { eventually, fixtures } from './helpers.ts';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const recipe = path.join(repositoryRoot, 'bin', 'recipe.js');
const quiet = pino({ level: 'silent' });
const plain = { token: undefined, tls: undefined };

/** Cluster pieces that need no second host: a head and a node agent in this process, on loopback. */
describe('cluster mode on loopback', () => {
  const state = mkdtempSync(path.join(tmpdir(), 'posttrain-loopback-'));
  let head: HeadService;
  let agent: NodeAgent;
  let runtime: Runtime;

  beforeAll(async () => {
    head = await HeadService.start({ host: '127.0.0.1', port: 0, statePath: path.join(state, 'head.sqlite'), security: plain, logger: quiet, heartbeatMs: 200, nodeTimeoutMs: 5_000, driverTimeoutMs: 1_000 });
    // This node allows only modules under test/cluster/fixtures; the head allows the whole repository.
    agent = await NodeAgent.start({
      head: head.address,
      nodeId: 'strict',
      host: '127.0.0.1',
      resources: { CPU: 2 },
      security: plain,
      logger: quiet,
      prestartWorkers: 0,
      actorModuleRoots: [path.join(repositoryRoot, 'test', 'cluster', 'fixtures')],
      objectStore: { memoryBytes: 2 ** 28 },
    });
    runtime = await Runtime.start({ address: head.address.slice('grpc:'.length), token: undefined, namespace: 'loopback' });
  });
  afterAll(async () => {
    await runtime?.shutdown();
    await agent?.stop();
    await head?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it('a node agent refuses a module outside its own allow-list even when the head allows the path', async () => {
    const error = await runtime.createActor<typeof Counter>({ module: fixtures, exportName: 'Counter' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ActorCreationError);
    expect((error as Error).message).toMatch(/could not be created: its node could not start it: node strict runs only modules under .*test\/cluster\/fixtures\/ \(its --actor-module-root\), not file:.*test-actors\.ts/);
    expect((await runtime.nodes())[0]?.free.CPU).toBe(2);
  });

  it("a driver that vanishes without shutting down loses its actors after the head's driver timeout", async () => {
    const script = [
      "import { Runtime } from './runtime/index.ts';",
      `const runtime = await Runtime.start({ address: '${head.address.slice('grpc:'.length)}', namespace: 'loopback' });`,
      "await runtime.createActor({ module: new URL('./test/cluster/fixtures/collective-actor.ts', import.meta.url), exportName: 'CollectiveRank', name: 'orphan', resources: { CPU: 0.1 } });",
      "console.log('created');",
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => data.toString().includes('created') && resolve());
      child.once('exit', (code) => reject(new Error(`driver exited with ${code}`)));
    });
    expect(await runtime.getActor('orphan').then(() => 'alive')).toBe('alive');
    child.kill('SIGKILL');
    const gone = await eventually(() => runtime.getActor('orphan').then(() => 'alive', () => 'gone'), (state) => state === 'gone');
    expect(gone).toBe('gone');
  });

  it('derives node resources from flags, then the environment (pod limits), then the machine, and names bad values', () => {
    const env = { POSTTRAIN_NODE_CPUS: '4', POSTTRAIN_NODE_GPUS: '2', POSTTRAIN_NODE_MEMORY: '8589934592', POSTTRAIN_NODE_RESOURCES: '{"a100": 1}', POSTTRAIN_NODE_NAME: 'gpu-pod-7', CUDA_VISIBLE_DEVICES: '3,5' };
    expect(nodeResources({}, env)).toEqual({ nodeId: 'gpu-pod-7', resources: { CPU: 4, GPU: 2, memory: 8589934592, a100: 1 }, gpuIds: ['3', '5'] });
    expect(nodeResources({ numCpus: '1', nodeName: 'small' }, env).resources.CPU).toBe(1);
    expect(() => nodeResources({ numGpus: '1.5' }, {})).toThrow(/--num-gpus: a node has whole GPUs, got 1.5/);
    expect(() => nodeResources({}, { POSTTRAIN_NODE_CPUS: 'lots' })).toThrow(/POSTTRAIN_NODE_CPUS: must be a number >= 0, got 'lots'/);
    expect(() => nodeResources({ nodeName: 'no spaces allowed' }, {})).toThrow(/--node-name/);
  });

  it('the CLI refuses to start a head on a non-loopback address without a token, and names bad flags', () => {
    const env: Record<string, string | undefined> = { ...process.env };
    delete env.POSTTRAIN_TOKEN;
    delete env.POSTTRAIN_TOKEN_FILE;
    const open = spawnSync(process.execPath, [recipe, 'cluster', 'start', '--head', '--host', '0.0.0.0', '--port', '0', '--state', path.join(state, 'refused.sqlite')], { cwd: repositoryRoot, env, encoding: 'utf8' });
    expect(open.status).toBe(1);
    expect(open.stderr).toMatch(/the head refuses to listen on 0\.0\.0\.0 without a token/);
    expect(open.stderr).not.toMatch(/\n\s+at /);
    const badPort = spawnSync(process.execPath, [recipe, 'cluster', 'start', '--head', '--port', 'eighty'], { cwd: repositoryRoot, env, encoding: 'utf8' });
    expect(badPort.status).toBe(2);
    expect(badPort.stderr).toMatch(/--port: must be a port number from 0 to 65535, got 'eighty'/);
  });
});
