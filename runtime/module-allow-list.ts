import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ActorModuleNotAllowedError } from './runtime-errors.ts';
import { ConfigError } from './errors.ts';

/**
 * Only modules under allow-listed directories can become actors. An actor is "run this export of this module in
 * a new process", which is remote code execution by design; Ray's unauthenticated job API turned that into
 * CVE-2023-48022 (ShadowRay). The default roots are the user's project (nearest package.json above the working
 * directory) and posttrain itself.
 *
 * @example
 * const allow = new ModuleAllowList([process.cwd()]);
 * allow.check(new URL('./actors/counter.ts', import.meta.url)); // 'file:///.../actors/counter.ts'
 */
export class ModuleAllowList {
  readonly roots: readonly string[];

  constructor(roots: readonly string[]) {
    this.roots = roots.map((root) => withSeparator(realpathOrSelf(resolve(root))));
  }

  static defaults(): ModuleAllowList {
    const posttrainRoot = fileURLToPath(new URL('..', import.meta.url));
    return new ModuleAllowList([...new Set([projectRoot(process.cwd()), posttrainRoot])]);
  }

  /**
   * The module's canonical `file:` URL, or an `ActorModuleNotAllowedError`. `mustExist: false` checks the path
   * only (a cluster head, which may not hold the user's code; the node that runs the actor checks it fully).
   */
  check(module: string | URL, options: { mustExist?: boolean } = {}): string {
    const url = toFileUrl(module);
    const path = realpathOrSelf(fileURLToPath(url));
    if (!this.roots.some((root) => path.startsWith(root))) throw new ActorModuleNotAllowedError(path, this.roots);
    if ((options.mustExist ?? true) && !existsSync(path)) throw new ConfigError([{ path: 'module', message: `actor module ${path} does not exist` }]);
    return pathToFileURL(path).href;
  }
}

function toFileUrl(module: string | URL): URL {
  if (module instanceof URL) {
    if (module.protocol !== 'file:') throw new ConfigError([{ path: 'module', message: `actor modules must be local files (file: URLs), got ${module.href}` }]);
    return module;
  }
  if (module.startsWith('file:')) return new URL(module);
  if (isAbsolute(module)) return pathToFileURL(module);
  throw new ConfigError([
    { path: 'module', message: `'${module}' is neither a file: URL nor an absolute path; use new URL('./my-actor.ts', import.meta.url)` },
  ]);
}

function realpathOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function withSeparator(path: string): string {
  return path.endsWith(sep) ? path : path + sep;
}

/** Nearest directory at or above `from` holding a package.json (or `from` itself). */
export function projectRoot(from: string): string {
  let directory = resolve(from);
  for (;;) {
    if (existsSync(join(directory, 'package.json'))) return directory;
    const parent = dirname(directory);
    if (parent === directory) return resolve(from);
    directory = parent;
  }
}
