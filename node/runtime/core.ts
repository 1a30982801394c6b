/**
 * The sans-IO contract every protocol core follows (the spirit of etcd's raft library):
 * a core is a state machine fed inputs (start, a decoded message, a timer firing, an admin
 * command) together with a Ctx that carries the node's current clock reading and collects
 * what the core wants done (messages to send, timers to set). A core never touches a socket,
 * a timer or a clock itself, so the same core runs over UDP, on loopback and in the
 * deterministic simulator.
 */

/** A member of a testbed, numbered by the plan; the transport maps it to an address. */
export type NodeId = number;

export interface Ctx<M> {
  /** Microseconds on this node's (possibly skewed and drifting) clock, read once per input. */
  readonly now: number;
  send(to: NodeId, msg: M): void;
  /** Sends one message to many members; the driver encodes it once. */
  multicast(to: readonly NodeId[], msg: M): void;
  /** Arms (or re-arms) the named timer to fire after `afterUs` microseconds. */
  setTimer(name: string, afterUs: number): void;
  cancelTimer(name: string): void;
}

export interface Core<M> {
  start(ctx: Ctx<M>): void;
  receive(ctx: Ctx<M>, msg: M): void;
  timer(ctx: Ctx<M>, name: string): void;
  /** Out-of-band instructions (e.g. an operator asking for a membership change). */
  command?(ctx: Ctx<M>, command: unknown): void;
}

/** Turns messages into datagrams and back. `decode` throws WireError on a malformed packet. */
export interface Codec<M> {
  encode(msg: M): Uint8Array;
  decode(bytes: Uint8Array): M;
}

/** Why a packet could not be decoded: the `reason` label of `switchyard_rx_rejected_total`. */
export const WIRE_REASONS = [
  'truncated', 'trailing-bytes', 'out-of-range', 'bad-magic', 'unknown-type', 'bad-field', 'bad-stage', 'bad-rps',
  'bad-app-state', 'bad-result', 'bad-client-signature', 'unknown-client', 'bad-ip-header', 'bad-ip-checksum',
  'bad-tcp-header', 'bad-tcp-checksum', 'bad-tcp-option', 'bad-tcp-state',
] as const;
export type WireReason = (typeof WIRE_REASONS)[number];

/** A packet that can't be decoded, with a short machine-readable reason for the rejection counter. */
export class WireError extends Error {
  constructor(readonly reason: WireReason, message: string) {
    super(message);
    this.name = 'WireError';
  }
}

/** Randomness injected into cores so that a simulation seed replays exactly. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
}
