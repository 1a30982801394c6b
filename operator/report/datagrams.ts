import { TRANSPORT_METRICS } from '../../node/runtime/metrics.js';
import type { Entry } from './system-report.js';
import type { Snapshot } from './scrape.js';

/**
 * UDP datagrams all members sent per committed operation over the run (switchyard_tx_datagrams_total,
 * one per destination): the protocol's message cost, from the testbed's own counters, so other
 * traffic on the machine does not count. As a summary entry (`datagrams_per_op` in `--json`; null
 * before the first committed operation).
 */
export function datagramsPerOp(final: Snapshot, base: Snapshot, ops: number) {
  const before = base.perMember(TRANSPORT_METRICS.tx);
  let sent = 0;
  for (const [member, n] of final.perMember(TRANSPORT_METRICS.tx)) sent += n - (before.get(member) ?? n);
  const perOp = ops > 0 ? sent / ops : null;
  return { row: ['datagrams per committed op', perOp === null ? '—' : perOp.toFixed(1)], json: perOp } as const satisfies Entry;
}
