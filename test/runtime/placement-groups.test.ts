import { afterAll, beforeAll } from 'vitest';
import { Runtime } from '../../runtime/index.ts';
import { placementGroupBehaviour } from './placement-group-behaviour.ts';

// Two logical nodes of { CPU: 2, GPU: 4 } on this one machine.
let runtime: Runtime;

beforeAll(async () => {
  runtime = await Runtime.start({ namespace: 'placement', nodes: [{ resources: { CPU: 2, GPU: 4 } }, { resources: { CPU: 2, GPU: 4 } }] });
});
afterAll(async () => {
  await runtime.shutdown();
});

placementGroupBehaviour('embedded, two logical nodes', () => ({ runtime, nodes: ['node-0', 'node-1'], metrics: true }));
