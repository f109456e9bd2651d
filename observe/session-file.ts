import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SessionInfo } from './formats.ts';

export const SESSION_FILE = 'session.json';

/**
 * Write `session.json` into a run directory: which process on which host is running the run (and where its
 * Prometheus endpoint is), so that `recipe status` can tell a running run from one whose process died.
 *
 * @example
 * writeSessionFile('runs/ppo-1', { method: 'ppo', name: 'ppo-1', metricsUrl: 'http://127.0.0.1:9464/metrics' });
 */
export function writeSessionFile(runDir: string, info: Omit<SessionInfo, 'pid' | 'hostname' | 'startedAt'>): SessionInfo {
  const session: SessionInfo = { pid: process.pid, hostname: os.hostname(), startedAt: Date.now() / 1000, ...info };
  fs.mkdirSync(runDir, { recursive: true });
  const target = path.join(runDir, SESSION_FILE);
  fs.writeFileSync(`${target}.tmp`, `${JSON.stringify(session, null, 2)}\n`);
  fs.renameSync(`${target}.tmp`, target);
  return session;
}

/**
 * Whether the session's process is still alive: true or false on the host that wrote it, undefined elsewhere (a
 * pid means nothing on another machine).
 *
 * @example
 * sessionAlive(readRun('runs/ppo-1').session!); // false once the trainer's process has exited
 */
export function sessionAlive(session: SessionInfo): boolean | undefined {
  if (session.hostname !== os.hostname()) return undefined;
  try {
    process.kill(session.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
