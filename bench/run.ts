/**
 * `npm run bench -- NAME [args]`: runs bench/NAME.ts, which prints one JSON object on stdout.
 * Each benchmark runs its peer (PyTorch, Optuna, memcpy, raw TCP) in the same invocation when it can.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts' && !file.startsWith('_'))
  .map((file) => file.slice(0, -3))
  .sort();
const name = process.argv[2];
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- NAME\navailable: ${available.join(', ') || '(none yet)'}\n`);
  process.exit(2);
}
const bench = (await import(join(here, `${name}.ts`))) as { main(args: string[]): Promise<void> };
await bench.main(process.argv.slice(3));
