/**
 * The README's runtime quick start: `node --import tsx runtime/examples/quickstart.ts`.
 * Two logical nodes, a STRICT_SPREAD placement group, an actor group of two ranks, and refs instead of values.
 */
import { Runtime } from '../index.ts';
import type { Accumulator } from './accumulator-actor.ts';

const runtime = await Runtime.start({
  namespace: 'quickstart',
  nodes: [{ resources: { CPU: 2, GPU: 4 } }, { resources: { CPU: 2, GPU: 4 } }],
});
try {
  const group = await runtime.createPlacementGroup({ bundles: [{ CPU: 1, GPU: 1 }, { CPU: 1, GPU: 1 }], strategy: 'STRICT_SPREAD' });
  await group.ready({ timeoutMs: 10_000 });
  const ranks = await runtime.createActorGroup<typeof Accumulator>({
    module: new URL('./accumulator-actor.ts', import.meta.url),
    exportName: 'Accumulator',
    role: 'policy',
    size: 2,
    args: ['policy'],
    placementGroup: group,
    resources: { CPU: 0.5, GPU: 1 },
  });
  for (const line of await ranks.callAll('describe')) console.log(line);

  const weights = await runtime.put(new Float32Array([1, 2, 3, 4]));
  console.log('sums:', await ranks.callAll('sum', weights));
  const scaled = await ranks.scatter('scale', [[weights, 2], [weights, 10]]);
  console.log('scaled:', await Promise.all(scaled.map(async (ref) => Array.from(await ref.get()))));
  for (const ref of [weights, ...scaled]) ref.release();

  await group.remove(); // kills both ranks and frees the reservation at once
  console.log('free after remove:', (await runtime.nodes()).map((node) => node.free));
} finally {
  await runtime.shutdown();
}
