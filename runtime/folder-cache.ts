/**
 * A per-process cache of what was read from a folder, valid while the files it came from are unchanged: an entry
 * is keyed by the folder and the size and modification time of each file `files` names, so a rewritten folder
 * (a stage that saved its model again, a re-initialised tokenizer) is read again on the next `get`.
 *
 * Values are shared, not copied: every caller gets the same object and must treat it as read-only. With `holdMs`
 * an entry is dropped that long after its last `get` (an unref'd timer, so it never keeps a process alive): for
 * large values (a model's tensors) that are only needed while several roles of one process start.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';

/** How a FolderCache keys and keeps its entries. */
export interface FolderCacheOptions {
  /** The files (names inside the folder) whose sizes and times key an entry; a missing one counts as absent. */
  files: (directory: string) => readonly string[];
  /** Drop an entry this many milliseconds after its last `get` (default: keep it for the process's life). */
  holdMs?: number;
}

/**
 * @example
 * const tokenizers = new FolderCache<HfTokenizer>({ files: () => ['tokenizer.json', 'tokenizer_config.json'] });
 * const tokenizer = tokenizers.get('./my-model', readTokenizerFolder); // read once; later calls share it
 */
export class FolderCache<T> {
  private readonly entries = new Map<string, { signature: string; value: T; timer?: NodeJS.Timeout }>();

  constructor(private readonly options: FolderCacheOptions) {}

  /** The cached value for `directory` while its files are unchanged; otherwise `load(directory)`, then cached. */
  get(directory: string, load: (directory: string) => T): T {
    const signature = this.signature(directory);
    let entry = this.entries.get(directory);
    if (entry?.signature !== signature) {
      this.delete(directory);
      entry = { signature, value: load(directory) };
      this.entries.set(directory, entry);
    }
    this.hold(directory, entry);
    return entry.value;
  }

  /** Whether `directory` has an entry (whatever its files now are). */
  has(directory: string): boolean {
    return this.entries.has(directory);
  }

  /** Drops every entry, so that what they held can be garbage-collected. */
  clear(): void {
    for (const directory of [...this.entries.keys()]) this.delete(directory);
  }

  private delete(directory: string): void {
    clearTimeout(this.entries.get(directory)?.timer);
    this.entries.delete(directory);
  }

  private hold(directory: string, entry: { timer?: NodeJS.Timeout }): void {
    if (this.options.holdMs === undefined) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.delete(directory), this.options.holdMs);
    entry.timer.unref();
  }

  private signature(directory: string): string {
    return this.options.files(directory).map((name) => {
      try {
        const stats = statSync(join(directory, name));
        return `${name}:${stats.size}:${stats.mtimeMs}`;
      } catch {
        return `${name}:-`;
      }
    }).join('|');
  }
}
