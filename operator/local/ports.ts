import dgram from 'node:dgram';
import net from 'node:net';

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
 * for TCP, for every member offset. Random starting points keep concurrent runs apart.
 */
export async function findBasePorts(offsets: number[], metricsGap: number, host = '127.0.0.1'): Promise<{ udp: number; metrics: number }> {
  const span = Math.max(...offsets) + 1;
  for (let attempt = 0; attempt < 30; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (60_000 - 20_000 - metricsGap - span));
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
