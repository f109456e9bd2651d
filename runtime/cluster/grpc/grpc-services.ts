import type { MethodDefinition } from '@grpc/grpc-js';

/**
 * The services cluster processes expose, defined without protobuf: every message is raw bytes. Channels carry
 * the runtime's own binary frames (`frame-codec.ts`: a small header, a JSON skeleton, raw typed-array bytes), and
 * object transfers carry the stored object file itself in chunks. Protobuf would add nothing but copies here:
 * typed arrays would be copied into `bytes` fields and out again, and the JSON skeleton is already validated by
 * the runtime. gRPC still provides what we want from it: HTTP/2 multiplexing and flow control, TLS, deadlines,
 * keepalive, status codes, and metadata for the bearer token.
 */
const identity = (bytes: Buffer): Buffer => bytes;

function bytesMethod(path: string, requestStream: boolean, responseStream: boolean): MethodDefinition<Buffer, Buffer> {
  return { path, requestStream, responseStream, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
}

/** `Open`: a bidirectional stream of frames; one transport channel per call. */
export const CHANNEL_SERVICE = { open: bytesMethod('/posttrain.Channel/Open', true, true) };

/**
 * `Fetch`: the request is JSON `{ "id": "..." }`; the response streams the object's stored file in chunks, the
 * first message being JSON `{ "bytes": N }`. NOT_FOUND with the reason when the object is lost or unknown.
 */
export const OBJECT_SERVICE = { fetch: bytesMethod('/posttrain.Objects/Fetch', false, true) };
