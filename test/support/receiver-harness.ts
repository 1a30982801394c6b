import type { HydraMsg } from '../../node/hydra/messages.js';
import { type Delivery, Receiver } from '../../node/hydra/receiver.js';
import { initialConfig } from '../../node/hydra/topology.js';
import type { Ctx, NodeId } from '../../node/runtime/core.js';

/** One Hydra receiver (member 200 of group 0; sequencers 0 and 1) driven by hand: what it sends, delivers and rejects. */
export function receiverHarness() {
  const sent: { to: NodeId; msg: HydraMsg }[] = [];
  const deliveries: Delivery[] = [];
  const rejected: string[] = [];
  let now = 0;
  const ctx = (): Ctx<HydraMsg> => ({
    now, send: (to, msg) => sent.push({ to, msg }), multicast: (to, msg) => to.forEach((t) => sent.push({ to: t, msg })),
    setTimer() {}, cancelTimer() {},
  });
  const topology = { groups: 1, receiversPerGroup: 3, clients: 1, aggregator: false, configReplicas: 3, initial: initialConfig(2) };
  const r = new Receiver({
    id: 200, group: 0, topology, solicit: 'immediate', solicitIntervalUs: 300, failureTimeoutUs: 20_000, periodicFlushes: true, gapWaitUs: 300,
  }, {
    delivered: (d) => deliveries.push(d), rejected: (reason) => rejected.push(reason),
    solicited() {}, suspected() {}, configured() {}, pending() {},
  });
  const at = (t: number) => {
    now = t;
  };
  /** Deliveries so far, as `sequencer.epoch.seq@clock` or `drop sequencer.epoch.seq`. */
  const got = () => deliveries.map((d) => d.kind === 'message'
    ? `${d.msg.sequencer}.${d.epoch}.${d.seq}@${d.msg.clock}`
    : `drop ${d.sequencer}.${d.epoch}.${d.seq}`);
  return { r, sent, deliveries, rejected, ctx, topology, at, got };
}

/** A groupcast to group 0 alone, stamped `seq` by `sequencer` in `config`. */
export const groupcast = (config: number, sequencer: number, clock: number, seq: number): HydraMsg => ({
  type: 'groupcast', config, sequencer, clock, groups: 1, stamps: [seq], client: 0, msgId: seq, sentAt: clock, payload: new Uint8Array(4),
});

/** A flush of `sequencer` in `config`: group 0's counter at `seq`. */
export const flush = (config: number, sequencer: number, clock: number, seq: number, solicited = false): HydraMsg => ({
  type: 'flush', solicited, config, sequencer, clock, seqs: [seq],
});
