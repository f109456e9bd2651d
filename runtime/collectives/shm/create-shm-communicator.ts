import os from 'node:os';
import { CollectiveError } from '../errors.ts';
import { formMesh, initPhase } from '../transport/form-mesh.ts';
import { shmBufferPath, shmSocketPath, type MeshUniqueIdData } from '../unique-id.ts';
import type { ResolvedCommunicatorOptions } from '../validate.ts';
import { ShmCommunicator } from './shm-communicator.ts';
import { ShmFile } from './shm-files.ts';

/**
 * Join a `shm` group: meet over Unix sockets in the shm directory, create this rank's buffer file, open every
 * peer's, and unlink them all once everyone holds a descriptor (nothing is left behind if a process dies later).
 */
export async function createShmCommunicator(id: MeshUniqueIdData, options: ResolvedCommunicatorOptions): Promise<ShmCommunicator> {
  const shmDir = id.shmDir as string;
  if (id.hostname !== undefined && id.hostname !== os.hostname()) {
    throw new CollectiveError(
      'COLLECTIVE_RENDEZVOUS_FAILED',
      `this unique id is for a shm group on host ${id.hostname}, but rank ${options.rank} runs on ${os.hostname()}: ` +
        'shm works within one node; create the id with backend "tcp" for ranks on several hosts',
      { operation: 'init' },
    );
  }
  const { mesh, deadline } = await formMesh(id, options, () => ({ path: shmSocketPath(shmDir, id.nonce, `r${options.rank}`) }), { ring: false });
  const own = ShmFile.create(shmBufferPath(shmDir, id.nonce, options.rank));
  const files: ShmFile[] = [];
  try {
    await initPhase(mesh, 'file-created', deadline, options.timeoutMs);
    for (let rank = 0; rank < options.worldSize; rank++) files.push(rank === options.rank ? own : ShmFile.open(shmBufferPath(shmDir, id.nonce, rank)));
    await initPhase(mesh, 'files-opened', deadline, options.timeoutMs);
  } catch (error) {
    for (const file of files) file.close();
    own.close();
    throw error;
  } finally {
    own.unlink();
  }
  return new ShmCommunicator(mesh, options, shmDir, own, files, id.chunkBytes);
}
