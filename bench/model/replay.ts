import { type Codec, type Core, type Ctx, type NodeId, WireError } from '../../node/runtime/core.js';
import type { RecordedInput } from './recording.js';

/** Wall-clock µs of each input a core took in, by message type. */
export type Samples = Map<string, number[]>;

/**
 * Feeds recorded datagrams to a core as its runtime would — decode, then receive with a Ctx whose
 * sends encode their messages — and times each with the monotonic clock, from the outside (the
 * core never reads a clock). Outputs are encoded and dropped. Timers the core sets fire when
 * due in the recorded inputs' virtual time (so its state follows the recorded run's), timed as
 * type `timer:NAME`: CPU a member spends that no datagram carries. A datagram the codec refuses
 * is timed as type `rejected`.
 */
export function replayInputs<M extends { type: string }>(core: Core<M>, codec: Codec<M>, inputs: readonly RecordedInput[], into: Samples = new Map()): Samples {
  let now = 0;
  const timers = new Map<string, number>();
  const encode = (msg: M) => void codec.encode(msg);
  const ctx: Ctx<M> = {
    get now() {
      return now;
    },
    send: (_to: NodeId, msg: M) => encode(msg),
    multicast: (_to: readonly NodeId[], msg: M) => encode(msg),
    setTimer: (name, afterUs) => void timers.set(name, now + Math.max(0, afterUs)),
    cancelTimer: (name) => void timers.delete(name),
  };
  /** Runs `work`, which returns the type it handled, and keeps its wall-clock µs under that type. */
  const time = (work: () => string) => {
    const t0 = process.hrtime.bigint();
    const type = work();
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    const list = into.get(type);
    if (list) list.push(us);
    else into.set(type, [us]);
  };
  for (const input of inputs) {
    // Timers due before this input fire first, in due order, as in the recorded run.
    for (let due = nextDue(timers, input.at); due; due = nextDue(timers, input.at)) {
      const [name, at] = due;
      timers.delete(name);
      now = at;
      time(() => (core.timer(ctx, name), `timer:${name}`));
    }
    now = input.at;
    time(() => {
      let msg: M;
      try {
        msg = codec.decode(input.bytes);
      } catch (err) {
        // A refused datagram still cost its decoding.
        if (err instanceof WireError) return 'rejected';
        throw err;
      }
      core.receive(ctx, msg);
      return msg.type;
    });
  }
  return into;
}

/** The timer due first at or before `until`, if any. */
function nextDue(timers: Map<string, number>, until: number): [string, number] | null {
  let first: [string, number] | null = null;
  for (const [name, at] of timers) if (at <= until && (!first || at < first[1])) first = [name, at];
  return first;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
