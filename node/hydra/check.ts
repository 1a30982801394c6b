import type { Delivery } from './receiver.js';

export interface ReceiverHistory {
  receiver: number;
  group: number;
  deliveries: readonly Delivery[];
  /** The receiver restarted with empty state before this history: each stream may start at any slot. */
  rejoined?: boolean;
  /** The history ended with a crash: it need not be complete. */
  crashed?: boolean;
}

/**
 * Checks Hydra's guarantees over the delivery histories of every receiver; returns the
 * violations found (empty when all hold):
 * - messages are delivered in (clock, sequencer id) order, so any two messages are in the same
 *   relative order at every receiver of every group;
 * - per sequencer incarnation, a receiver's slots (message or drop notification) are exactly
 *   1, 2, 3, … in order: nothing delivered twice, no slot skipped;
 * - a slot holds the same message at every receiver of a group;
 * - a drop notification comes no later than the lost message's place in the order (known when
 *   another receiver of the group delivered it), so applications can put a recovered message back;
 * - with `complete`, every slot that some receiver of a group delivered, every other receiver
 *   of that group delivered too (as the message or as a drop notification) — a history that
 *   ended in a crash excepted, and a rejoined one only from where it started each stream.
 */
export function checkHydraHistories(histories: readonly ReceiverHistory[], complete: boolean): string[] {
  const problems: string[] = [];
  const slotMsg = new Map<string, string>();
  const slotsByGroup = new Map<number, Set<string>>();
  const perReceiver = new Map<ReceiverHistory, { seen: Set<string>; firsts: Map<string, number> }>();
  const slotKey = new Map<string, { clock: number; sequencer: number }>();
  const drops: { receiver: number; slot: string; clock: number; sequencer: number }[] = [];
  for (const h of histories) {
    const next = new Map<string, number>();
    const seen = new Set<string>();
    const firsts = new Map<string, number>();
    perReceiver.set(h, { seen, firsts });
    const groupSlots = slotsByGroup.get(h.group) ?? new Set<string>();
    slotsByGroup.set(h.group, groupSlots);
    let lastClock = -1;
    let lastSeq = -1;
    for (const d of h.deliveries) {
      const sequencer = d.kind === 'message' ? d.msg.sequencer : d.sequencer;
      const stream = `${sequencer}@${d.epoch}`;
      const expected = next.get(stream) ?? (h.rejoined ? d.seq : 1);
      if (!next.has(stream)) firsts.set(stream, expected);
      if (d.seq !== expected) {
        problems.push(`receiver ${h.receiver}: sequencer ${stream} slot ${d.seq} delivered when ${expected} was next`);
        if (problems.length > 20) return problems;
      }
      next.set(stream, d.seq + 1);
      const slot = `${stream}#${d.seq}`;
      seen.add(slot);
      groupSlots.add(slot);
      if (d.kind === 'drop') drops.push({ receiver: h.receiver, slot: `${h.group}/${slot}`, clock: lastClock, sequencer: lastSeq });
      if (d.kind === 'message') {
        const m = d.msg;
        if (m.clock < lastClock || (m.clock === lastClock && m.sequencer <= lastSeq)) {
          problems.push(`receiver ${h.receiver}: message (${m.clock}, ${m.sequencer}) delivered after (${lastClock}, ${lastSeq})`);
        }
        lastClock = m.clock;
        lastSeq = m.sequencer;
        const id = `${m.client}:${m.msgId}`;
        const key = `${h.group}/${slot}`;
        const other = slotMsg.get(key);
        if (other !== undefined && other !== id) {
          problems.push(`group ${h.group}: slot ${slot} holds message ${id} at receiver ${h.receiver} but ${other} elsewhere`);
        }
        slotMsg.set(key, id);
        slotKey.set(key, { clock: m.clock, sequencer: m.sequencer });
      }
      if (problems.length > 20) return problems;
    }
  }
  for (const d of drops) {
    const k = slotKey.get(d.slot);
    if (k && (k.clock < d.clock || (k.clock === d.clock && k.sequencer < d.sequencer))) {
      problems.push(`receiver ${d.receiver}: drop notification of ${d.slot} (${k.clock}, ${k.sequencer}) after message (${d.clock}, ${d.sequencer})`);
      if (problems.length > 20) return problems;
    }
  }
  if (complete) {
    for (const h of histories) {
      if (h.crashed) continue;
      const { seen, firsts } = perReceiver.get(h)!;
      let missing = 0;
      let example = '';
      for (const slot of slotsByGroup.get(h.group)!) {
        const [stream, seq] = slot.split('#') as [string, string];
        const first = h.rejoined ? firsts.get(stream) : 1;
        if (first === undefined || Number(seq) < first) continue;
        if (!seen.has(slot)) {
          missing++;
          example ||= slot;
        }
      }
      if (missing > 0) problems.push(`receiver ${h.receiver}: ${missing} slots of group ${h.group} neither delivered nor drop-notified (e.g. ${example})`);
    }
  }
  return problems;
}
