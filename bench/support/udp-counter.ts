import { readFileSync } from 'node:fs';

/**
 * UDP datagrams this machine has sent (Linux `/proc/net/snmp`, `Udp: OutDatagrams`), or null
 * where that is not readable. Machine-wide: a bench reads it around a run of its own testbed.
 */
export function udpDatagramsSent(): number | null {
  let text: string;
  try {
    text = readFileSync('/proc/net/snmp', 'utf8');
  } catch {
    return null;
  }
  const [header, values] = text.split('\n').filter((l) => l.startsWith('Udp:'));
  const i = header?.split(/\s+/).indexOf('OutDatagrams') ?? -1;
  const n = i > 0 ? Number(values?.split(/\s+/)[i]) : NaN;
  return Number.isFinite(n) ? n : null;
}
