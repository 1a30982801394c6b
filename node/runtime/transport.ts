import type { NodeId } from './core.js';

/**
 * Moves datagrams between members. Implemented over UDP sockets (udp.ts) and over the seeded
 * simulated network (node/net/sim.ts). Messages identify their sender in their own fields, as real
 * protocol headers do, so the transport reports only the bytes.
 */
export interface Transport {
  send(to: NodeId, bytes: Uint8Array): void;
  onReceive(handler: (bytes: Uint8Array) => void): void;
  close(): void;
}

/** Reads a node's clock, in microseconds. */
export interface Clock {
  now(): number;
}

/** Runs callbacks later, in the same units as the node's Clock. */
export interface Scheduler {
  /** `label` says what runs (a core's timer name): the simulator's cost model charges timers by it. */
  schedule(afterUs: number, fn: () => void, label?: string): unknown;
  cancel(handle: unknown): void;
}
