/**
 * Builds the OpenBLAS addon (build/Release/posttrain_blas.node) when the machine can; never fails the install.
 * Run by the root package's `install` script, so `npm ci` / `npm install` build it; by hand: `npm run build:blas`.
 *
 * Needs pkg-config to find OpenBLAS (Debian/Ubuntu: `apt-get install libopenblas-dev pkg-config`; macOS: `brew
 * install openblas pkg-config` with PKG_CONFIG_PATH=$(brew --prefix openblas)/lib/pkgconfig), a C++ compiler,
 * make and python3 (node-gyp's own needs). node-gyp is npm's bundled copy; the Node headers come from this
 * Node's own prefix (/usr/include/node for Debian's and NodeSource's packages) so nothing is downloaded.
 * When anything is missing, the reason is written to build/not-built.txt (the engine's log line quotes it) and
 * matrix products stay on tfjs. POSTTRAIN_BLAS=0 skips the build.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const notBuilt = join(here, 'build', 'not-built.txt');

function giveUp(reason) {
  rmSync(join(here, 'build', 'Release', 'posttrain_blas.node'), { force: true }); // a stale addon would contradict the reason
  mkdirSync(join(here, 'build'), { recursive: true });
  writeFileSync(notBuilt, `${reason}\n`);
  process.stderr.write(`posttrain: OpenBLAS addon not built (${reason}); matrix products will run on tfjs\n`);
  process.exit(0);
}

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((path) => path && existsSync(path));
}

if (process.env.POSTTRAIN_BLAS === '0') giveUp('POSTTRAIN_BLAS=0');
let version;
try {
  version = execFileSync('pkg-config', ['--modversion', 'openblas'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
} catch {
  giveUp('libopenblas not found: pkg-config --modversion openblas failed; on Debian/Ubuntu apt-get install libopenblas-dev pkg-config');
}
const gyp = nodeGyp();
if (!gyp) giveUp("node-gyp not found (it comes with npm; run the build through npm: 'npm run build:blas')");
const nodeDirectory = join(dirname(process.execPath), '..');
const headers = existsSync(join(nodeDirectory, 'include', 'node', 'common.gypi')) ? [`--nodedir=${nodeDirectory}`] : [];
rmSync(notBuilt, { force: true });
const result = spawnSync(process.execPath, [gyp, 'rebuild', ...headers], { cwd: here, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (result.status !== 0) {
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').filter((line) => /error/i.test(line)).slice(0, 5).join('; ');
  giveUp(`node-gyp rebuild failed (${output || result.error?.message || `exit ${result.status}`})`);
}
process.stderr.write(`posttrain: built the OpenBLAS ${version} addon (models/kernels/blas/native/build/Release/posttrain_blas.node)\n`);
