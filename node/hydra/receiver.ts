import { Heap } from 'heap-js';
import type { Core, Ctx } from '../runtime/core.js';
import type { Config, FinalFlush, FlushState, Groupcast, HydraMsg, Prepare } from './messages.js';
import { ReceiverLiveness } from './receiver-liveness.js';
import type { ReceiverObserver, ReceiverParams } from './receiver-params.js';
import { FRESH_START, type Key, SEQ_WINDOW, STAMPS_PER_US, type SeqView, before, bound, hasGap, newView, stampsOf } from './stream-view.js';
import { configNodes, sequencerNode } from './topology.js';

export type { Delivery, ReceiverObserver, ReceiverParams, ReceiverRejection } from './receiver-params.js';
export { FRESH_START, SEQ_WINDOW } from './stream-view.js';

/** A buffered message, or a flush marker that drop-notifies everything up to `seq` not yet seen. */
interface Entry {
  clock: number;
  view: SeqView;
  seq: number;
  msg: Groupcast | null;
  arrivedAt: number;
  final: boolean;
}

/**
 * A Hydra receiver: buffers stamped messages and delivers them in (clock, sequencer id) order,
 * but only up to the minimum over all active sequencers of (c[i], i), so that no message can
 * still arrive ahead of what was delivered. A message whose predecessors from the same
 * sequencer never arrived is preceded by DROP-NOTIFICATIONs for them.
 *
 * Drop notifications carry no clock (the lost message's clock is unknown), so where one goes
 * relative to other sequencers' messages is this receiver's own choice. We deliver it no later
 * than the lost message's true place: once a later number from sequencer i shows a gap, i
 * holds the frontier at its last message before the gap (the lost one's clock is above that),
 * the gap waits `gapWaitUs` for a reordered arrival, and is then declared lost with its drop
 * notifications right after that last message. So everything delivered before a drop
 * notification precedes the lost message in the global order — which is what lets an
 * application (HydraPaxos) recover the message from a peer and put it back in its place. The
 * order of messages is the same at every receiver of every group.
 *
 * Rejoining (Hydra leaves receiver recovery to the application, docs/hydra.md#restarted-receivers): a receiver
 * keeps no state across a restart, so it cannot know what it missed. It learns the current
 * configuration from the configuration service (it acknowledges its own, older one whenever
 * input stamped in a newer one reached it, and the service answers with the current one),
 * and it delivers each sequencer incarnation's stream from the first claim it accepts from
 * it (`startStream`): from number 1 if that claim is at most FRESH_START (a testbed starting,
 * a sequencer just admitted), else from just past it — everything up to the claim happened
 * before this receiver's time, is neither delivered nor drop-notified, and is the
 * application's business (HydraPaxos and HydraTxn replicas take it from their group by state
 * transfer, which `resume` applies). Since every message it delivers is still delivered in
 * (clock, sequencer id) order, its deliveries are a contiguous suffix of each stream in the
 * same order as everywhere else. A stream not yet started holds the frontier at the
 * configuration's start frontier, so nothing is delivered ahead of a stream whose position is
 * unknown. The first claim is trusted without the window check (there is nothing to compare
 * it with yet — Hydra emulates a trusted datacenter network); every later one is checked.
 */
export class Receiver implements Core<HydraMsg> {
  private config: number;
  private readonly views = new Map<number, SeqView>();
  /** Removed sequencers whose final marker is still buffered; they bound the frontier until then. */
  private readonly retiring = new Set<SeqView>();
  /** Removed streams ("sequencer.joined") whose final marker we delivered: finished here for good. */
  private readonly finished = new Set<string>();
  private readonly heap = new Heap<Entry>((a, b) =>
    a.clock - b.clock || a.view.id - b.view.id || a.seq - b.seq || Number(a.msg === null) - Number(b.msg === null));
  private lastDelivered: Key = { clock: -1, sequencer: -1 };
  private through: Key = { clock: -1, sequencer: -1 };
  /** Messages stamped in a configuration we have not installed yet. */
  private early: Groupcast[] = [];
  private adding: { sequencer: number; newConfig: number; reported: number | null } | null = null;
  private installed: Config;
  private gapTimerArmed = false;
  private readonly liveness: ReceiverLiveness;

  constructor(private readonly p: ReceiverParams, private readonly obs: ReceiverObserver) {
    this.liveness = new ReceiverLiveness(p, obs);
    this.config = 0;
    this.installed = p.topology.initial;
  }

  /**
   * How far delivery has gone: every message whose (clock, sequencer) is at most this was
   * delivered or preceded by its drop notification; nothing can still arrive ahead of it. A
   * message an application recovers elsewhere may take its place in the order only once this
   * has passed it (a drop notification can be delivered well before the lost message's place).
   */
  get deliveredThrough(): Key {
    return this.through;
  }

  /** The configuration installed last. */
  get configuration(): Config {
    return this.installed;
  }

  start(ctx: Ctx<HydraMsg>): void {
    this.install(ctx, this.p.topology.initial);
    // A restarted receiver's first word to the service; answered only if a newer configuration exists.
    this.askForConfig(ctx);
    ctx.setTimer('fd', this.liveness.checkEveryUs);
    if (this.p.solicit === 'batched') ctx.setTimer('solicit', this.p.solicitIntervalUs);
  }

  receive(ctx: Ctx<HydraMsg>, m: HydraMsg): void {
    switch (m.type) {
      case 'groupcast':
        this.onGroupcast(ctx, m);
        break;
      case 'flush':
        this.onFlush(ctx, m);
        break;
      case 'aggflush':
        for (const f of m.flushes) this.onFlush(ctx, f);
        break;
      case 'prepare':
        this.onPrepare(ctx, m);
        return;
      case 'config':
        this.onConfig(ctx, m);
        break;
      default:
        return;
    }
    this.deliver(ctx);
  }

  timer(ctx: Ctx<HydraMsg>, name: string): void {
    if (name === 'fd') {
      const late = this.liveness.late(ctx.now);
      if (this.liveness.behind(this.config)) this.askForConfig(ctx);
      else if (!late) this.liveness.detectFailures(ctx, this.views.values(), this.head(), this.config);
      ctx.setTimer('fd', this.liveness.checkEveryUs);
    } else if (name === 'gap') {
      this.declareOldGaps(ctx);
      this.deliver(ctx);
    } else if (name === 'solicit') {
      this.solicit(ctx, true);
      if (this.p.solicit === 'batched') ctx.setTimer('solicit', this.p.solicitIntervalUs);
    }
  }

  /**
   * Jumps ahead to a peer's position (an application's state transfer): from each listed
   * stream (sequencer, joined) everything numbered below `next` is accounted for, and nothing
   * at or before `through` in the order is still to come. Buffered input past it stays.
   */
  resume(ctx: Ctx<HydraMsg>, config: Config, streams: readonly { sequencer: number; epoch: number; next: number }[], through: Key): void {
    if (config.config > this.config) this.install(ctx, config);
    for (const v of [...this.views.values(), ...this.retiring]) {
      // A stream active in the peer's configuration that its position does not list has nothing in
      // the peer's log: its position is 1 (else a first claim past FRESH_START would skip its head).
      const s = streams.find((x) => x.sequencer === v.id && x.epoch === v.joined)
        ?? (config.active.some((a) => a.sequencer === v.id && a.joined === v.joined) ? { sequencer: v.id, epoch: v.joined, next: 1 } : undefined);
      // The peer's position places the stream: should it be removed before we hear a claim from
      // it (we may be cut off), its final flush must still drop-notify its tail past that position,
      // or the application would skip those slots without a word (retire only finishes placed streams).
      if (s) v.started = true;
      if (s && s.next > v.next) {
        v.next = s.next;
        for (const seq of [...v.pendingSeqs.keys()]) if (seq < s.next) v.pendingSeqs.delete(seq);
        for (const seq of [...v.lost]) if (seq < s.next) v.lost.delete(seq);
        if (v.covered < s.next - 1) v.covered = s.next - 1;
      }
      if (through.clock > v.clock) v.clock = through.clock;
      if (through.clock > v.deliveredClock) v.deliveredClock = through.clock;
    }
    if (before(this.lastDelivered, through)) this.lastDelivered = { ...through };
    // A listed stream our configuration has already removed (the peer's configuration, or ours,
    // is past its final flush) but that we hold no view of — we restarted, or never placed it:
    // its slots from the peer's position up to the final count for our group were never delivered
    // there nor here, and no claim from it will come. Finish it as `install` finishes a placed
    // stream: its drop notifications go right at `through` (before their messages' places, which
    // lie past the peer's delivery point, docs/hydra.md#restarted-receivers), and the application
    // recovers them from peers or NO-OPs them (docs/hydrapaxos.md#state-transfer).
    // A removed stream the peer's position does not list had nothing in the peer's log up to
    // `through`: all of it lies past that point, and it is ours from number 1 (as an active
    // unlisted stream above) — else a receiver that jumps past its incarnation while it is cut off
    // (a restarted member whose address is stale for the service) would skip it (issue 18,
    // member-restart sweep follower 13).
    const unlisted = config.finals
      .filter((f) => !streams.some((x) => x.sequencer === f.sequencer && x.epoch === f.joined))
      .map((f) => ({ sequencer: f.sequencer, epoch: f.joined, next: 1 }));
    for (const s of [...streams, ...unlisted]) {
      if (this.views.get(s.sequencer)?.joined === s.epoch) continue;
      if ([...this.retiring].some((v) => v.id === s.sequencer && v.joined === s.epoch)) continue;
      if (this.finished.has(`${s.sequencer}.${s.epoch}`)) continue;
      const final = this.finalOf(s.sequencer, s.epoch);
      if (!final || (final.seqs[this.p.group] ?? 0) < s.next) continue;
      const v = newView({ sequencer: s.sequencer, joined: s.epoch, start: through.clock }, ctx.now);
      v.started = true;
      v.next = s.next;
      v.covered = s.next - 1;
      this.retire(v, final);
    }
    this.deliver(ctx);
  }

  /**
   * Whether numbers claimed for v's groups lie within what v can have stamped since the highest we
   * accepted from it: at most SEQ_WINDOW + STAMPS_PER_US × (time since that claim) past it. A
   * claim beyond — a forged flush announcing 2^40 messages, which would make us drop-notify
   * every one of them — is refused (`beyond-window`) and leaves no trace; a real sequencer never
   * gets there, and one we refuse all the same goes silent for us, so the failure detector
   * reports it and the configuration service replaces it as it does a failed one.
   */
  private plausible(now: number, v: SeqView, claims: Iterable<[group: number, seq: number]>): boolean {
    const limit = SEQ_WINDOW + STAMPS_PER_US * Math.max(0, now - v.claimedAt);
    for (const [g, s] of claims) {
      const seen = Math.max(v.observedSeqs[g] ?? 0, g === this.p.group ? v.covered : 0);
      if (s - seen > limit) {
        this.obs.rejected('beyond-window');
        return false;
      }
    }
    return true;
  }

  private onGroupcast(ctx: Ctx<HydraMsg>, m: Groupcast): void {
    const v = this.views.get(m.sequencer);
    if (m.config > this.config) {
      // Stamped in a configuration we have not installed: which incarnation of its sequencer
      // stamped it is known only there (a receiver restarted at the initial configuration
      // would otherwise take a re-admitted sequencer's new numbering for its old one).
      this.liveness.heardNewer(ctx.now, v, m.config);
      if (this.early.length < 65536) this.early.push(m);
      return;
    }
    if (!v || m.config < v.joined) {
      this.obs.rejected(v ? 'stale-incarnation' : 'unknown-sequencer');
      return;
    }
    this.accept(ctx, v, m);
  }

  /** Takes a groupcast of v's incarnation, stamped in a configuration we have installed. */
  private accept(ctx: Ctx<HydraMsg>, v: SeqView, m: Groupcast): void {
    if (v.frozen || this.retiring.has(v)) {
      this.obs.rejected('removed-sequencer');
      return;
    }
    const bit = 1 << this.p.group;
    if ((m.groups & bit) === 0) {
      this.obs.rejected('not-addressed');
      return;
    }
    const stamps = stampsOf(m);
    if (!v.started) this.startStream(ctx, v, stamps, m.clock - 1, true);
    if (!this.plausible(ctx.now, v, stamps)) return;
    v.lastHeard = ctx.now;
    v.heard = true;
    let s = 0;
    for (const [g, stamp] of stamps) {
      if (g === this.p.group) s = stamp;
      if (stamp > (v.observedSeqs[g] ?? 0)) {
        v.observedSeqs[g] = stamp;
        v.claimedAt = ctx.now;
      }
    }
    if (m.clock > v.observedClock) v.observedClock = m.clock;
    if (m.clock > v.clock) v.clock = m.clock;
    if (v.lost.has(s)) {
      this.obs.rejected('late');
      return;
    }
    if (s < v.next || v.pendingSeqs.has(s)) {
      this.obs.rejected('duplicate');
      return;
    }
    if (before({ clock: m.clock, sequencer: m.sequencer }, this.lastDelivered)) {
      // Overtaken: the frontier already passed it. It is drop-notified by a later message or flush.
      this.obs.rejected('late');
      return;
    }
    this.heap.push({ clock: m.clock, view: v, seq: s, msg: m, arrivedAt: ctx.now, final: false });
    v.pendingSeqs.set(s, m.clock);
    if (s > v.covered) v.covered = s;
  }

  private onFlush(ctx: Ctx<HydraMsg>, f: FlushState): void {
    const v = this.views.get(f.sequencer);
    if (!v || f.config < v.joined) {
      // A listed sequencer never heard from, flushing before the service admitted it (the
      // service may come up after it), is alive: suspecting it would only have it removed and
      // added back. It still stays unheard, so its flushes place or move nothing.
      if (v && !v.heard) v.lastHeard = ctx.now;
      this.noteJoiningFlush(ctx, f);
      return;
    }
    // Sent in a configuration we have not installed: it may be another incarnation's (see onGroupcast).
    if (f.config > this.config) return this.liveness.heardNewer(ctx.now, v, f.config);
    if (v.frozen || this.retiring.has(v)) return;
    if (!v.started) this.startStream(ctx, v, f.seqs.entries(), f.clock, false);
    if (!this.plausible(ctx.now, v, f.seqs.entries())) return;
    v.lastHeard = ctx.now;
    v.claimedAt = ctx.now;
    v.heard = true;
    v.solicitedAt = -Infinity;
    f.seqs.forEach((s, g) => {
      if (s > (v.observedSeqs[g] ?? 0)) v.observedSeqs[g] = s;
    });
    if (f.clock > v.observedClock) v.observedClock = f.clock;
    if (f.clock > v.clock) v.clock = f.clock;
    const s = f.seqs[this.p.group] ?? 0;
    if (s > v.covered) {
      this.heap.push({ clock: f.clock, view: v, seq: s, msg: null, arrivedAt: ctx.now, final: false });
      v.covered = s;
    }
  }

  /**
   * Places v's stream from its first claim (see the class comment), unless a peer's state
   * already placed it, and anchors the window check on it: a groupcast's own number
   * is still to be delivered (`inclusive`), a flush's is covered. Past FRESH_START everything up
   * to the claim is before our time: the stream starts there, at the clock just below it.
   */
  private startStream(ctx: Ctx<HydraMsg>, v: SeqView, claims: Iterable<[group: number, seq: number]>, clock: number, inclusive: boolean): void {
    v.started = true;
    v.claimedAt = ctx.now;
    let own = 0;
    for (const [g, s] of claims) {
      if (s > (v.observedSeqs[g] ?? 0)) v.observedSeqs[g] = s;
      if (g === this.p.group) own = s;
    }
    const last = inclusive ? own - 1 : own;
    // A position taken from a peer (`resume`) stands: the claim only anchors the window check.
    if (last <= FRESH_START || v.next > 1) return;
    v.next = last + 1;
    v.covered = last;
    if (clock > v.clock) v.clock = clock;
    if (clock > v.deliveredClock) v.deliveredClock = clock;
  }

  /**
   * The minimum over active (and retiring) sequencers of (c[i], i), where a sequencer with an
   * undeclared gap counts only up to its last message before the gap; paused while a sequencer joins.
   */
  private frontier(): Key {
    if (this.adding) return this.lastDelivered;
    let min: Key = { clock: Infinity, sequencer: Infinity };
    for (const v of this.views.values()) {
      const k = bound(v);
      if (before(k, min)) min = k;
    }
    for (const v of this.retiring) {
      const k = bound(v);
      if (before(k, min)) min = k;
    }
    return min;
  }

  /** Starts the reorder wait of newly seen gaps. */
  private noteGaps(ctx: Ctx<HydraMsg>): void {
    for (const v of this.views.values()) this.noteGap(ctx, v);
    for (const v of this.retiring) this.noteGap(ctx, v);
  }

  private noteGap(ctx: Ctx<HydraMsg>, v: SeqView): void {
    if (!hasGap(v)) v.gapSince = -1;
    else if (v.gapSince < 0) {
      v.gapSince = ctx.now;
      if (!this.gapTimerArmed) {
        this.gapTimerArmed = true;
        ctx.setTimer('gap', this.p.gapWaitUs);
      }
    }
  }

  private declareOldGaps(ctx: Ctx<HydraMsg>): void {
    this.gapTimerArmed = false;
    let next = Infinity;
    for (const v of [...this.views.values(), ...this.retiring]) {
      if (v.gapSince < 0) continue;
      if (ctx.now - v.gapSince >= this.p.gapWaitUs) this.declareLost(v, v.covered);
      else next = Math.min(next, v.gapSince + this.p.gapWaitUs - ctx.now);
    }
    if (next < Infinity) {
      this.gapTimerArmed = true;
      ctx.setTimer('gap', next);
    }
  }

  /**
   * Declares every missing number of v up to `last` lost: each run of them gets a marker right
   * after v's message before the run, which delivers their drop notifications there.
   */
  private declareLost(v: SeqView, last: number): void {
    let prevClock = v.deliveredClock;
    let runStart = -1;
    for (let s = v.next; s <= last + 1; s++) {
      const c = s <= last ? v.pendingSeqs.get(s) : undefined;
      if (s <= last && c === undefined && !v.lost.has(s)) {
        if (runStart < 0) runStart = s;
        v.lost.add(s);
        continue;
      }
      if (runStart >= 0) {
        const clock = Math.max(prevClock, this.lastDelivered.clock);
        this.heap.push({ clock, view: v, seq: s - 1, msg: null, arrivedAt: 0, final: false });
        runStart = -1;
      }
      if (c !== undefined) prevClock = c;
    }
    if (last > v.covered) v.covered = last;
    v.gapSince = -1;
  }

  private deliver(ctx: Ctx<HydraMsg>): void {
    let frontier = this.frontier();
    for (;;) {
      const e = this.heap.peek();
      if (!e || before(frontier, { clock: e.clock, sequencer: e.view.id })) break;
      this.heap.pop();
      const v = e.view;
      if (e.msg) {
        v.pendingSeqs.delete(e.seq);
        if (e.seq < v.next) continue;
        if (e.seq > v.finalSeq) {
          this.obs.rejected('beyond-final');
          continue;
        }
        this.dropUpTo(ctx, v, e.seq - 1);
        v.next = e.seq + 1;
        v.deliveredClock = e.clock;
        this.obs.delivered({ kind: 'message', msg: e.msg, epoch: v.joined, seq: e.seq, arrivedAt: e.arrivedAt }, ctx.now);
      } else {
        this.dropUpTo(ctx, v, e.seq);
        if (e.seq >= v.next) v.next = e.seq + 1;
        if (e.final) {
          this.retiring.delete(v);
          this.finished.add(`${v.id}.${v.joined}`);
          this.discardBeyondFinal(v);
          frontier = this.frontier();
        }
      }
      const key = { clock: e.clock, sequencer: v.id };
      if (!before(key, this.lastDelivered)) this.lastDelivered = key;
    }
    // Infinite only with no sequencer at all, which a later addition would contradict.
    if (frontier.clock !== Infinity && before(this.through, frontier)) this.through = frontier;
    this.noteGaps(ctx);
    this.obs.pending(this.heap.length);
    if (this.heap.length > 0 && this.p.solicit === 'immediate') this.solicit(ctx, false);
  }

  private dropUpTo(ctx: Ctx<HydraMsg>, v: SeqView, last: number): void {
    for (let s = v.next; s <= last; s++) {
      v.lost.delete(s);
      this.obs.delivered({ kind: 'drop', sequencer: v.id, epoch: v.joined, seq: s }, ctx.now);
    }
  }

  /** Messages of a removed sequencer numbered past its final flush were never part of any configuration. */
  private discardBeyondFinal(v: SeqView): void {
    if (v.pendingSeqs.size === 0) return;
    const keep = this.heap.toArray().filter((e) => e.view !== v);
    for (let n = v.pendingSeqs.size; n > 0; n--) this.obs.rejected('beyond-final');
    v.pendingSeqs.clear();
    this.heap.clear();
    this.heap.init(keep);
  }

  /** The head of the buffer: the next entry in the order. */
  private head(): Key | undefined {
    const e = this.heap.peek();
    return e && { clock: e.clock, sequencer: e.view.id };
  }

  /** Asks every quiet sequencer that holds back the head of the buffer, and a joiner not yet reported, for a flush. */
  private solicit(ctx: Ctx<HydraMsg>, force: boolean): void {
    let waiting = this.liveness.solicit(ctx, this.views.values(), this.head(), this.config, force);
    if (this.adding && this.adding.reported === null) {
      ctx.send(sequencerNode(this.adding.sequencer), { type: 'flushreq', receiver: this.p.id, config: this.config });
      waiting = true;
    }
    if (waiting && this.p.solicit === 'immediate') ctx.setTimer('solicit', this.p.solicitIntervalUs);
  }

  private onPrepare(ctx: Ctx<HydraMsg>, m: Prepare): void {
    if (m.newConfig <= this.config) return;
    if (m.change === 'remove') {
      // Stop taking input from it and report the highest counters we saw from it.
      const v = this.views.get(m.sequencer);
      if (v) v.frozen = true;
      ctx.multicast(configNodes(this.p.topology), {
        type: 'removereport', newConfig: m.newConfig, reporter: this.p.id, sequencer: m.sequencer,
        clock: v?.observedClock ?? 0,
        seqs: Array.from({ length: this.p.topology.groups }, (_, g) => v?.observedSeqs[g] ?? 0),
      });
      return;
    }
    if (!this.adding || this.adding.newConfig !== m.newConfig) {
      // Pause delivery until the joiner has flushed past everything we delivered.
      this.adding = { sequencer: m.sequencer, newConfig: m.newConfig, reported: null };
      this.solicit(ctx, true);
    } else if (this.adding.reported !== null) {
      this.sendAddReport(ctx);
    } else {
      this.solicit(ctx, true);
    }
  }

  private noteJoiningFlush(ctx: Ctx<HydraMsg>, f: FlushState): void {
    const a = this.adding;
    if (!a || a.sequencer !== f.sequencer || a.reported !== null) return;
    if (f.clock <= this.lastDelivered.clock) return;
    a.reported = f.clock;
    this.sendAddReport(ctx);
  }

  private sendAddReport(ctx: Ctx<HydraMsg>): void {
    const a = this.adding!;
    ctx.multicast(configNodes(this.p.topology), {
      type: 'addreport', newConfig: a.newConfig, receiver: this.p.id, sequencer: a.sequencer, clock: a.reported!,
    });
  }

  /**
   * Acknowledging our own configuration, older than the service's, makes it send the current
   * one: how a restarted receiver (or one that missed a change) learns it.
   */
  private askForConfig(ctx: Ctx<HydraMsg>): void {
    ctx.multicast(configNodes(this.p.topology), { type: 'configack', member: this.p.id, config: this.config });
  }

  private onConfig(ctx: Ctx<HydraMsg>, m: Config): void {
    ctx.multicast(configNodes(this.p.topology), { type: 'configack', member: this.p.id, config: m.config });
    this.liveness.serviceAt(m.config);
    if (m.config <= this.config) return;
    this.install(ctx, m);
    const early = this.early;
    this.early = [];
    for (const g of early) this.onGroupcast(ctx, g);
  }

  private install(ctx: Ctx<HydraMsg>, m: Config): void {
    const next = new Map(m.active.map((a) => [a.sequencer, a]));
    for (const v of [...this.views.values()]) {
      const still = next.get(v.id);
      if (still && still.joined === v.joined) continue;
      this.views.delete(v.id);
      // Its final flush is a claim like any other: a stream we never placed is placed by it, as by
      // a first claim (`startStream`): from number 1 if it is at most FRESH_START — a stream none
      // of whose messages and flushes reached us (issue 18: a restarted receiver whose address is
      // stale for the sequencer and the aggregator) is then drop-notified rather than skipped.
      // Past FRESH_START we came in late: nothing of it is ours to finish.
      const final = m.finals.find((f) => f.sequencer === v.id && f.joined === v.joined);
      if (!v.started && final && (final.seqs[this.p.group] ?? 0) <= FRESH_START) v.started = true;
      if (v.started) this.retire(v, final);
    }
    // Streams that began after the configuration we were in — that is, within our lifetime: we
    // had a position (we delivered something, or took a peer's), or had already installed a
    // configuration from the service, so we are not a receiver just restarted at the initial one
    // — are owed to us from number 1. Such a stream is placed now, not at its first claim: else a
    // stream every message and flush of which missed us (a lost groupcast; flushes lost on the way
    // through the aggregator; a stale address) and that is removed again would vanish without a
    // drop notification, as `retire` finishes only placed streams (issue 18). For the same reason
    // an incarnation that joined and was removed while we were behind (we jump past both
    // configurations) is finished from its final flush: we take what we hold of it and everything
    // else of it up to its final counter is drop-notified here.
    const owed = this.lastDelivered.clock >= 0 || this.config > this.p.topology.initial.config;
    if (owed) for (const f of m.finals) this.finishMissed(ctx, f);
    for (const a of m.active) {
      if (this.views.has(a.sequencer)) continue;
      const v = newView(a, ctx.now);
      if (owed && a.joined > this.config) v.started = true;
      this.views.set(a.sequencer, v);
    }
    this.config = m.config;
    this.installed = m;
    this.adding = null;
    this.obs.configured(m.config);
  }

  /** Finishes an incarnation that joined after our configuration and is removed by `m` (see `install`). */
  private finishMissed(ctx: Ctx<HydraMsg>, f: FinalFlush): void {
    if (f.joined <= this.config || this.finished.has(`${f.sequencer}.${f.joined}`)) return;
    if ([...this.retiring].some((v) => v.id === f.sequencer && v.joined === f.joined)) return;
    const v = newView({ sequencer: f.sequencer, joined: f.joined, start: this.lastDelivered.clock }, ctx.now);
    v.started = true;
    const theirs = (g: Groupcast) => g.sequencer === f.sequencer && g.config >= f.joined && g.config < f.config;
    for (const g of this.early.filter(theirs)) this.accept(ctx, v, g);
    this.early = this.early.filter((g) => !theirs(g));
    this.retire(v, f);
  }

  /** The final flush of incarnation (sequencer, joined) in the installed configuration, if it keeps it. */
  private finalOf(sequencer: number, joined: number): FinalFlush | undefined {
    return this.installed.finals.find((f) => f.sequencer === sequencer && f.joined === joined);
  }

  /**
   * A removed sequencer's final flush acts as its last flush: everything up to its final
   * counter that we don't hold becomes a drop notification at (final clock, id), the same
   * position at every receiver; then it no longer holds back the frontier.
   */
  private retire(v: SeqView, final: FlushState | undefined): void {
    const clock = final ? final.clock : v.clock;
    const seq = final ? (final.seqs[this.p.group] ?? 0) : v.covered;
    v.frozen = false;
    v.finalSeq = seq;
    // Nothing more can arrive from it: what is missing up to its final number is lost now.
    this.declareLost(v, seq);
    v.clock = Math.max(clock, this.lastDelivered.clock);
    this.retiring.add(v);
    this.heap.push({ clock: v.clock, view: v, seq, msg: null, arrivedAt: 0, final: true });
  }
}
