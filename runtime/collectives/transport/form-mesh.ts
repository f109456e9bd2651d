import { CollectiveError, CollectiveTimeoutError } from '../errors.ts';
import type { MeshUniqueIdData } from '../unique-id.ts';
import type { ResolvedCommunicatorOptions } from '../validate.ts';
import type { Endpoint } from './endpoint.ts';
import { MeshListener } from './mesh-connections.ts';
import { PeerMesh } from './peer-mesh.ts';
import { joinRendezvous } from './rendezvous.ts';

/**
 * Form the group: start this rank's listener, meet the others at the rendezvous root, and connect to every peer.
 * `listenAt(localAddress)` says where to listen (a TCP address on the interface that reaches the root, or a Unix
 * socket path). Everything started here is closed again if forming fails.
 */
export async function formMesh(
  id: MeshUniqueIdData,
  options: ResolvedCommunicatorOptions,
  listenAt: (localAddress: string | undefined) => Endpoint | { host: string; port: 0 },
  links: { ring: boolean },
): Promise<{ mesh: PeerMesh; deadline: number }> {
  const deadline = Date.now() + options.timeoutMs;
  let listener: MeshListener | undefined;
  try {
    const table = await joinRendezvous({
      root: id.root,
      secret: id.secret,
      rank: options.rank,
      worldSize: options.worldSize,
      deadline,
      timeoutMs: options.timeoutMs,
      listenForPeers: async (localAddress) => {
        listener = await MeshListener.start({ endpoint: listenAt(localAddress), secret: id.secret, nonce: id.nonce, rank: options.rank });
        return listener.endpoint;
      },
    });
    const mesh = await PeerMesh.establish({ ...options, ...links, secret: id.secret, nonce: id.nonce, listener: listener as MeshListener, table, deadline });
    return { mesh, deadline };
  } catch (error) {
    listener?.abandon();
    throw error;
  }
}

/**
 * During set-up after the mesh exists: announce `phase` (sequence 0) and wait for every peer's, failing with the
 * ranks that did not reach it by the deadline.
 */
export async function initPhase(mesh: PeerMesh, phase: string, deadline: number, timeoutMs: number): Promise<void> {
  mesh.announce(0, phase);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const missing = mesh.missingFromPhase(0, phase);
      reject(
        new CollectiveTimeoutError(
          `forming the group timed out after ${timeoutMs} ms on rank ${mesh.rank}: ranks ${missing.join(', ')} did not reach "${phase}"`,
          { ranks: missing, operation: 'init' },
        ),
      );
    }, Math.max(0, deadline - Date.now()));
  });
  try {
    await Promise.race([mesh.waitForPhase(0, phase), timedOut, mesh.failed]);
  } catch (error) {
    if (error instanceof CollectiveError) mesh.fail(error);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
