/**
 * The transport moves frames between two processes. It is an interface so that the local channel (Unix domain
 * sockets, one machine) and the gRPC channel (many machines, a later issue) are interchangeable, and every
 * implementation passes the one conformance suite in `test/runtime/transport-conformance.ts`.
 *
 * A frame is a small routing header plus raw byte buffers. Typed arrays travel as those buffers, never as JSON;
 * the JSON `body` carries only the small skeleton of a value (see `value-codec.ts`).
 *
 * Guarantees every implementation must keep (the conformance suite checks each):
 * - frames arrive complete, in the order they were sent, each exactly once, on an open channel;
 * - buffers arrive byte-identical, and a sender may reuse its buffers as soon as `send` returns;
 * - many small frames sent in one tick are delivered efficiently (batched writes), large buffers without
 *   extra copies where the medium allows;
 * - when either side closes or dies, both sides see `onClose` once, and `send` after close throws `TransportError`;
 * - a malformed or oversized frame closes the channel with a `TransportError`, never crashes the process.
 *
 * @example
 * const transport = transportFor('unix:/tmp/posttrain.sock');
 * const listener = await transport.listen('unix:/tmp/posttrain.sock', (channel) => {
 *   channel.onFrame((frame) => channel.send({ ...frame, kind: FrameKind.Response }));
 * });
 * const channel = await transport.connect(listener.address);
 */
export interface Transport {
  /** `unix`, `tcp`, `memory`, `grpc`. */
  readonly scheme: string;
  listen(address: string, onChannel: (channel: Channel) => void): Promise<Listener>;
  /**
   * `component` names the peer in errors (`head`, `actor policy-0`), where the transport reports its own. A
   * transport that retries an unreachable peer makes one bounded attempt with `once` (the caller retries).
   */
  connect(address: string, component?: string, options?: { once?: boolean }): Promise<Channel>;
}

export interface Listener {
  /** The address peers connect to (with the chosen port for `tcp:host:0`). */
  readonly address: string;
  close(): Promise<void>;
}

export interface Channel {
  /** Queue a frame; writes are batched per tick. Throws `TransportError` when the channel is closed. */
  send(frame: Frame): void;
  /** The single receiver of frames on this channel. Frames arriving before it is set are held. */
  onFrame(handler: (frame: Frame) => void): void;
  /** Called once when the channel closes; `error` is set when it closed because of a failure. */
  onClose(handler: (error?: Error) => void): void;
  close(): void;
  readonly closed: boolean;
  /** Bytes queued but not yet handed to the medium: callers apply backpressure above a limit they choose. */
  readonly bufferedBytes: number;
}

/** Frame kinds of the runtime's RPC protocol (`rpc.ts`). */
export const FrameKind = {
  Request: 1,
  Response: 2,
  Error: 3,
  Notify: 4,
} as const;

export interface Frame {
  kind: number;
  /** Request id (0 for notifications). */
  id: number;
  /** What the frame is for: a method name, a control operation. */
  route: string;
  /** Small JSON text: the skeleton of a value, or control data. */
  body: string;
  /** Raw bytes: typed arrays' contents. */
  buffers: Uint8Array[];
}

/** Largest frame any implementation accepts (a peer sending more is cut off). */
export const MAX_FRAME_BYTES = 2 ** 31 - 1;
