import { formMesh } from '../transport/form-mesh.ts';
import type { MeshUniqueIdData } from '../unique-id.ts';
import type { ResolvedCommunicatorOptions } from '../validate.ts';
import { TcpRingCommunicator } from './tcp-ring-communicator.ts';

/**
 * Join a `tcp` group: listen on `options.host` (default: the local address that reaches the rendezvous root, i.e.
 * the interface on the cluster network), meet at the root, and connect to every peer.
 */
export async function createTcpCommunicator(id: MeshUniqueIdData, options: ResolvedCommunicatorOptions): Promise<TcpRingCommunicator> {
  const { mesh } = await formMesh(id, options, (localAddress) => ({ host: options.host ?? localAddress ?? '127.0.0.1', port: 0 }), { ring: true });
  return new TcpRingCommunicator(mesh, options, id.chunkBytes);
}
