import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { describe, expect, it } from 'vitest';
import { registerClusterCommand } from '../../bin/commands/cluster.ts';
import { loadRecipeFile } from '../../bin/load-recipe.ts';
import { planRecipe } from '../../trainers/recipe.ts';
import { nodeResources } from '../../runtime/cluster/node-resources.ts';

/**
 * The Kubernetes manifests in deploy/: every document is checked against the Kubernetes schema of its kind (a kind
 * without a schema here fails the test), then for what makes a cluster work: workers join the head's Service, every
 * process gets the token from the same Secret, /dev/shm is memory-backed, GPUs are limits, and what a node
 * advertises comes from its pod's limits through exactly the env vars `recipe cluster join` reads.
 */

const deployDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy');

/** The kinds deploy/ may use, each with its schema. Adding a kind means adding its schema here. */
const SCHEMAS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
  file: string;
}

/** Validate one document against its kind's schema; throws naming the file and kind. */
function validateManifest(document: Manifest): void {
  const Schema = SCHEMAS[`${document.apiVersion}/${document.kind}`];
  if (!Schema) throw new Error(`${document.file}: no schema for ${document.apiVersion}/${document.kind}; known: ${Object.keys(SCHEMAS).join(', ')}`);
  const { file: _file, ...data } = document;
  new Schema(data as never).validate();
}

async function loadManifests(): Promise<Manifest[]> {
  const { parseAllDocuments } = await import('yaml');
  const manifests: Manifest[] = [];
  for (const file of readdirSync(deployDirectory).filter((name) => /\.ya?ml$/.test(name)).sort()) {
    for (const document of parseAllDocuments(readFileSync(path.join(deployDirectory, file), 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`);
      const value = document.toJS() as Omit<Manifest, 'file'> | null;
      if (value !== null) manifests.push({ ...value, file });
    }
  }
  return manifests;
}

const manifests = await loadManifests();

function one(kind: string, component: string): Manifest {
  const found = manifests.filter((manifest) => manifest.kind === kind && manifest.metadata.labels?.['app.kubernetes.io/component'] === component);
  expect(found, `exactly one ${kind} for the ${component}`).toHaveLength(1);
  return found[0] as Manifest;
}

function podTemplate(manifest: Manifest): IPodTemplateSpec {
  return manifest.spec.template as IPodTemplateSpec;
}

function mainContainer(manifest: Manifest): IContainer {
  const containers = podTemplate(manifest).spec?.containers ?? [];
  expect(containers, `${manifest.metadata.name} runs one container`).toHaveLength(1);
  return containers[0] as IContainer;
}

function environment(container: IContainer, name: string): IEnvVar | undefined {
  return container.env?.find((variable) => variable.name === name);
}

/** A Kubernetes quantity in base units: '8' -> 8, '500m' -> 0.5, '32Gi' -> 34359738368, '1G' -> 1e9. */
function quantity(text: string | number): number {
  const match = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(text));
  if (!match) throw new Error(`not a quantity: ${text}`);
  const scale: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(match[1]) * (match[2] === undefined ? 1 : (scale[match[2]] as number));
}

/** The environment the kubelet gives `container` of pod `podName` (downward API resolved as Kubernetes does: rounded up). */
function kubeletEnvironment(container: IContainer, podName: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const source = variable.valueFrom;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (source?.fieldRef?.fieldPath === 'metadata.name') env[variable.name] = podName;
    else if (source?.fieldRef?.fieldPath === 'status.podIP') env[variable.name] = '10.1.2.3';
    else if (source?.secretKeyRef) env[variable.name] = 'a-secret-token-from-the-secret-0123456789';
    else if (source?.resourceFieldRef) {
      const [bound, resource] = source.resourceFieldRef.resource.split('.') as ['limits' | 'requests', string];
      const amount = container.resources?.[bound]?.[resource];
      if (amount === undefined) throw new Error(`${variable.name} reads ${source.resourceFieldRef.resource}, which the container does not set`);
      env[variable.name] = String(Math.ceil(quantity(amount as string) / quantity((source.resourceFieldRef.divisor as string | undefined) ?? '1')));
    } else throw new Error(`${variable.name}: a source this test cannot resolve`);
  }
  return env;
}

/** The long flags `recipe <command> <subcommand>` accepts, from the real command definition. */
function knownFlags(subcommand: 'start' | 'join'): Set<string> {
  const program = new Command();
  registerClusterCommand(program);
  const cluster = program.commands.find((command) => command.name() === 'cluster') as Command;
  const command = cluster.commands.find((candidate) => candidate.name() === subcommand) as Command;
  return new Set(command.options.map((option) => option.long as string));
}

/** The value after `flag` in an argument list. */
function flagValue(args: string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index === -1 ? undefined : args[index + 1];
}

describe('Kubernetes manifests in deploy/', () => {
  it('every document validates against the Kubernetes schema of its kind', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(5);
    for (const manifest of manifests) expect(() => validateManifest(manifest), `${manifest.file}: ${manifest.kind} ${manifest.metadata.name}`).not.toThrow();
  });

  it('a kind without a schema here, or an invalid document, fails validation', () => {
    expect(() => validateManifest({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: {}, file: 'extra.yaml' })).toThrow(/extra.yaml: no schema for v1\/Pod/);
    const head = one('Deployment', 'head');
    const broken = structuredClone(head);
    delete broken.spec.selector;
    expect(() => validateManifest(broken)).toThrow(/selector/);
  });

  it('the head listens on all interfaces behind a ClusterIP Service, keeps its control store on a persistent volume, and runs alone', () => {
    const head = one('Deployment', 'head');
    const container = mainContainer(head);
    const args = container.args ?? [];
    expect([...(container.command ?? []), ...args.slice(0, 3)]).toEqual(['npx', 'recipe', 'cluster', 'start', '--head']);
    const flags = knownFlags('start');
    for (const flag of args.filter((arg) => arg.startsWith('--'))) expect(flags, `recipe cluster start has ${flag}`).toContain(flag);
    expect(flagValue(args, '--host')).toBe('0.0.0.0');
    expect(head.spec.replicas).toBe(1);
    expect((head.spec.strategy as { type: string }).type).toBe('Recreate');

    const service = one('Service', 'head');
    expect(service.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    const selector = service.spec.selector as Record<string, string>;
    for (const [key, value] of Object.entries(selector)) expect(podTemplate(head).metadata?.labels?.[key]).toBe(value);
    const servicePort = (service.spec.ports as { port: number; targetPort: string | number }[])[0] as { port: number; targetPort: string | number };
    const containerPort = container.ports?.find((port) => port.name === servicePort.targetPort || port.containerPort === servicePort.targetPort);
    expect(containerPort?.containerPort).toBe(Number(flagValue(args, '--port')));

    const state = flagValue(args, '--state') as string;
    const mount = container.volumeMounts?.find((candidate) => state.startsWith(`${candidate.mountPath}/`));
    expect(mount, `--state ${state} lies on a mounted volume`).toBeDefined();
    const volume = podTemplate(head).spec?.volumes?.find((candidate) => candidate.name === mount?.name);
    const claim = manifests.find((manifest) => manifest.kind === 'PersistentVolumeClaim' && manifest.metadata.name === volume?.persistentVolumeClaim?.claimName);
    expect(claim, 'the state volume is a PersistentVolumeClaim defined in deploy/').toBeDefined();
  });

  it("workers and drivers join the head Service's DNS name and port", () => {
    const service = one('Service', 'head');
    const port = (service.spec.ports as { port: number }[])[0]?.port;
    const namespaced = new RegExp(`^${service.metadata.name}(\\.[a-z0-9-]+(\\.svc(\\.cluster\\.local)?)?)?:${port}$`);
    const worker = one('StatefulSet', 'worker');
    const workerArgs = mainContainer(worker).args ?? [];
    expect([...(mainContainer(worker).command ?? []), ...workerArgs.slice(0, 2)]).toEqual(['npx', 'recipe', 'cluster', 'join']);
    expect(workerArgs[2]).toMatch(namespaced);
    const flags = knownFlags('join');
    for (const flag of workerArgs.filter((arg) => arg.startsWith('--'))) expect(flags, `recipe cluster join has ${flag}`).toContain(flag);
    const driverArgs = mainContainer(one('Job', 'driver')).args ?? [];
    const address = driverArgs.find((arg) => arg.startsWith('runtime.address='));
    expect(address?.slice('runtime.address='.length)).toMatch(namespaced);
  });

  it("the driver Job's recipe and --set overrides, as the kubelet expands them, make a valid plan that targets the cluster", async () => {
    const job = one('Job', 'driver');
    const container = mainContainer(job);
    const env = kubeletEnvironment(container, 'posttrain-ppo-abcde');
    const args = (container.args ?? []).map((argument) => argument.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, name: string) => env[name] ?? ''));
    expect(args.slice(0, 2)).toEqual(['run', 'recipes/ppo.ts']);
    const overrides = args.flatMap((argument, index) => (args[index - 1] === '--set' ? [argument] : []));
    const recipe = (await loadRecipeFile(path.join(deployDirectory, '..', args[1] as string), overrides)) as { runtime: { address: string }; checkpoint: { uri: string } };
    expect(() => planRecipe(recipe)).not.toThrow();
    const service = one('Service', 'head');
    expect(recipe.runtime.address).toBe(`${service.metadata.name}:${(service.spec.ports as { port: number }[])[0]?.port}`);
    expect(recipe.checkpoint.uri).toMatch(/^s3:\/\//);
  });

  it('every process reads the token from the same Secret, never from a literal', () => {
    const members = [one('Deployment', 'head'), one('StatefulSet', 'worker'), one('Job', 'driver')];
    const references = members.map((member) => {
      const token = environment(mainContainer(member), 'POSTTRAIN_TOKEN');
      expect(token?.value, `${member.metadata.name} has no literal token`).toBeUndefined();
      return token?.valueFrom?.secretKeyRef;
    });
    expect(references[0]?.name).toBeTruthy();
    expect(references[0]?.optional ?? false).toBe(false);
    for (const reference of references) expect(reference).toEqual(references[0]);
  });

  it('each $(VAR) in an argument names a variable of the same container (Kubernetes leaves unknown ones as text)', () => {
    for (const manifest of manifests.filter((candidate) => candidate.spec.template !== undefined)) {
      const container = mainContainer(manifest);
      for (const argument of container.args ?? []) {
        for (const [, name] of argument.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) expect(environment(container, name as string), `${manifest.metadata.name}: ${argument}`).toBeDefined();
      }
    }
  });

  it("a worker pod advertises its own limits: the agent's resource reader, given the kubelet's environment, offers the pod's CPUs, GPUs and memory", () => {
    const worker = one('StatefulSet', 'worker');
    const container = mainContainer(worker);
    const limits = container.resources?.limits ?? {};
    expect(limits['nvidia.com/gpu'], 'GPU limit').toBeDefined();
    expect(environment(container, 'POSTTRAIN_NODE_GPUS')?.value, 'POSTTRAIN_NODE_GPUS repeats the GPU limit (the downward API cannot expose it)').toBe(String(limits['nvidia.com/gpu']));
    expect(environment(container, 'POSTTRAIN_NODE_CPUS')?.valueFrom?.resourceFieldRef).toMatchObject({ resource: 'limits.cpu', containerName: container.name });
    expect(environment(container, 'POSTTRAIN_NODE_MEMORY')?.valueFrom?.resourceFieldRef).toMatchObject({ resource: 'limits.memory', containerName: container.name });
    expect(environment(container, 'POSTTRAIN_NODE_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');

    const podName = `${worker.metadata.name}-0`;
    const node = nodeResources({}, kubeletEnvironment(container, podName));
    expect(node.nodeId).toBe(podName);
    expect(node.resources).toEqual({ CPU: Math.ceil(quantity(limits.cpu as string)), GPU: quantity(limits['nvidia.com/gpu'] as string), memory: quantity(limits.memory as string) });
  });

  it('a worker mounts a memory-backed /dev/shm larger than its object store', () => {
    const worker = one('StatefulSet', 'worker');
    const container = mainContainer(worker);
    const mount = container.volumeMounts?.find((candidate) => candidate.mountPath === '/dev/shm');
    expect(mount, '/dev/shm is mounted').toBeDefined();
    const volume = podTemplate(worker).spec?.volumes?.find((candidate) => candidate.name === mount?.name);
    expect(volume?.emptyDir?.medium).toBe('Memory');
    const sizeLimit = quantity(volume?.emptyDir?.sizeLimit as string);
    const objectStore = Number(flagValue(container.args ?? [], '--object-store-memory'));
    expect(objectStore).toBeGreaterThan(0);
    expect(objectStore).toBeLessThan(sizeLimit);
    expect(sizeLimit).toBeLessThan(quantity(container.resources?.limits?.memory as string));
  });

  it('the NetworkPolicy admits only cluster members, and every pod is a member', () => {
    const policy = manifests.find((manifest) => manifest.kind === 'NetworkPolicy') as Manifest;
    const members = (policy.spec.podSelector as { matchLabels: Record<string, string> }).matchLabels;
    const ingress = policy.spec.ingress as { from: { podSelector: { matchLabels: Record<string, string> } }[] }[];
    expect(ingress.flatMap((rule) => rule.from.map((peer) => peer.podSelector.matchLabels))).toEqual([members]);
    for (const manifest of manifests.filter((candidate) => candidate.spec.template !== undefined)) {
      for (const [key, value] of Object.entries(members)) expect(podTemplate(manifest).metadata?.labels?.[key], manifest.metadata.name).toBe(value);
      expect(podTemplate(manifest).spec?.securityContext?.runAsNonRoot, `${manifest.metadata.name} runs as non-root`).toBe(true);
    }
  });
});
