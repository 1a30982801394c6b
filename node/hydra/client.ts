import type { Core, Ctx, Random } from '../runtime/core.js';
import type { ClientMsg, HydraMsg } from './messages.js';
import { configNodes, type HydraTopology, clientNode, sequencerNode } from './topology.js';

export interface ClientParams {
  /** Client index c (member id 2000 + c). */
  index: number;
  topology: HydraTopology;
  /** Messages per second this client sends. */
  rate: number;
  payloadBytes: number;
  /** Share of messages sent to more than one group. */
  multiGroupShare: number;
  /** `random`: any active sequencer; `load-aware`: the less loaded of two random ones, by their feedback. */
  routing: 'random' | 'load-aware';
  /** Send loop period: each tick sends the messages that fell due since the last. */
  tickUs: number;
}

export interface ClientObserver {
  sent(msg: ClientMsg, sequencer: number): void;
}

/**
 * An open-loop sender (Hydra's sender library): each message picks one sequencer, at random or
 * load-aware. Load-aware routing is "power of two choices" over the sequencers' own rate
 * feedback — the least loaded of two random picks — which follows load without every sender
 * herding onto the same least-loaded sequencer between two feedback rounds.
 */
export class Client implements Core<HydraMsg> {
  private active: number[];
  private config: number;
  private readonly load = new Map<number, number>();
  private msgId = 0;
  private credit = 0;
  private lastTick = 0;

  constructor(private readonly p: ClientParams, private readonly rng: Random, private readonly obs: ClientObserver) {
    this.active = p.topology.initial.active.map((a) => a.sequencer);
    this.config = p.topology.initial.config;
  }

  start(ctx: Ctx<HydraMsg>): void {
    this.lastTick = ctx.now;
    if (this.p.rate > 0) ctx.setTimer('send', this.p.tickUs);
  }

  receive(ctx: Ctx<HydraMsg>, m: HydraMsg): void {
    if (m.type === 'config') {
      ctx.multicast(configNodes(this.p.topology), { type: 'configack', member: clientNode(this.p.index), config: m.config });
      if (m.config > this.config) {
        this.config = m.config;
        this.active = m.active.map((a) => a.sequencer);
      }
    } else if (m.type === 'load') {
      this.load.set(m.sequencer, m.rate);
    }
  }

  timer(ctx: Ctx<HydraMsg>, name: string): void {
    if (name !== 'send') return;
    const elapsed = ctx.now - this.lastTick;
    this.lastTick = ctx.now;
    // Catch up on what fell due, but never burst more than 100 ms worth after a stall.
    this.credit = Math.min(this.credit + (this.p.rate * elapsed) / 1e6, this.p.rate / 10 + 1);
    while (this.credit >= 1) {
      this.credit -= 1;
      this.sendOne(ctx);
    }
    ctx.setTimer('send', this.p.tickUs);
  }

  private pickGroups(): number {
    const n = this.p.topology.groups;
    const first = this.rng.next() * n | 0;
    if (n === 1 || !(this.rng.next() < this.p.multiGroupShare)) return 1 << first;
    // A multi-group message goes to two distinct groups.
    const second = (first + 1 + (this.rng.next() * (n - 1) | 0)) % n;
    return (1 << first) | (1 << second);
  }

  private pickSequencer(): number | undefined {
    const a = this.active;
    if (a.length === 0) return undefined;
    const one = a[this.rng.next() * a.length | 0]!;
    if (this.p.routing === 'random' || a.length === 1) return one;
    const two = a[this.rng.next() * a.length | 0]!;
    return (this.load.get(two) ?? 0) < (this.load.get(one) ?? 0) ? two : one;
  }

  private sendOne(ctx: Ctx<HydraMsg>): void {
    const sequencer = this.pickSequencer();
    if (sequencer === undefined) return;
    const groups = this.pickGroups();
    const msgId = ++this.msgId;
    const payload = new Uint8Array(this.p.payloadBytes);
    for (let i = 0; i < payload.length; i++) payload[i] = (msgId + i) & 0xff;
    const msg: ClientMsg = { type: 'client', client: this.p.index, msgId, groups, sentAt: ctx.now, payload };
    ctx.send(sequencerNode(sequencer), msg);
    this.obs.sent(msg, sequencer);
  }
}
