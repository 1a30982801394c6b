import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * Where the kernel picks ephemeral ports (for outgoing connections, such as the runner's own
 * HTTP polls): planned ports must stay below it, or a connection can take one between the probe
 * and the member's bind.
 */
function ephemeralStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && low > 2048) return low;
  } catch {
    // not Linux: assume the IANA range
  }
  return 49152;
}

const probeUdp = (port: number, host: string) =>
  new Promise<boolean>((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, host, () => s.close(() => resolve(true)));
  });

const probeTcp = (port: number, host: string) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });

/**
 * Finds a base port such that `base + offset` is free for UDP and `base + metricsGap + offset`
 * for TCP, for every member offset, below the ephemeral range. Random starting points keep
 * concurrent runs apart.
 */
export async function findBasePorts(offsets: number[], metricsGap: number, host = '127.0.0.1'): Promise<{ udp: number; metrics: number }> {
  const span = Math.max(...offsets) + 1;
  const low = 10_000;
  const high = ephemeralStart() - metricsGap - span;
  if (high <= low) throw new Error(`no room for ${span} ports below the ephemeral port range`);
  for (let attempt = 0; attempt < 30; attempt++) {
    const base = low + Math.floor(Math.random() * (high - low));
    let free = true;
    for (const o of offsets) {
      if (!(await probeUdp(base + o, host)) || !(await probeTcp(base + metricsGap + o, host))) {
        free = false;
        break;
      }
    }
    if (free) return { udp: base, metrics: base + metricsGap };
  }
  throw new Error(`no free range of ${span} ports found on ${host} after 30 tries`);
}
