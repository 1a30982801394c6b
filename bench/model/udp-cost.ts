import { addressBook } from '../../node/runtime/addressing.js';
import { UdpTransport } from '../../node/runtime/udp.js';
import { median } from './replay.js';
import { udpPingPong } from './udp-pingpong.js';

/** The UDP runtime's per-datagram cost on this machine. */
export interface UdpCost {
  /** In a burst (the process never sleeps): µs = base + perByte × bytes, per direction. */
  send: { baseUs: number; perByteUs: number };
  receive: { baseUs: number; perByteUs: number };
  /** CPU µs to take one datagram in and send one out when the process sleeps in between (a wake-up each time), 200-byte datagrams. */
  woken: { echoUs: number };
}

export interface UdpBurst {
  sendUs: number;
  receiveUs: number;
  received: number;
}

const MEMBER = 1;

/**
 * One burst through the real UdpTransport on loopback. Send: wall time from the first send until
 * every send has reached the socket (dgram resolves an IP literal on the next tick, then writes
 * at once), per datagram. Receive: the burst then waits in the receiver's kernel buffer, so the
 * spacing of its 'message' callbacks is what reading and dispatching one datagram costs.
 */
export async function udpBurst(size: number, count: number): Promise<UdpBurst> {
  const heard = () => {};
  const receiver = await UdpTransport.open({
    bindHost: '127.0.0.1', port: 0, book: { ...addressBook({ kind: 'loopback', host: '127.0.0.1', basePort: 1024 }, String), heardFrom: heard }, isMember: () => true,
  });
  const sender = await UdpTransport.open({
    bindHost: '127.0.0.1', port: 0, book: addressBook({ kind: 'loopback', host: '127.0.0.1', basePort: receiver.port - MEMBER }, String), isMember: () => true,
  });
  try {
    const times: bigint[] = [];
    receiver.onReceive(() => times.push(process.hrtime.bigint()));
    const bytes = new Uint8Array(size).fill(7);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) sender.send(MEMBER, bytes);
    const t1 = await new Promise<bigint>((resolve) => process.nextTick(() => resolve(process.hrtime.bigint())));
    // Everything sent is in the receiver's buffer; wait until it is read or the burst is lost.
    for (let idle = 0; times.length < count && idle < 20; idle++) {
      const before = times.length;
      await new Promise((r) => setTimeout(r, 5));
      if (times.length > before) idle = 0;
    }
    if (times.length < 2) throw new Error(`a UDP burst of ${count} lost all but ${times.length}`);
    return {
      sendUs: Number(t1 - t0) / 1000 / count,
      receiveUs: Number(times[times.length - 1]! - times[0]!) / 1000 / (times.length - 1),
      received: times.length,
    };
  } finally {
    sender.close();
    receiver.close();
  }
}

/**
 * Medians of `reps` bursts at a small and a large size, fitted to base + perByte × size
 * (perByte ≥ 0), and of `reps` ping-pongs of 1000 round trips with a process of its own.
 */
export async function measureUdp(o: { reps: number; count: number; sizes?: [number, number] }): Promise<UdpCost> {
  const [small, large] = o.sizes ?? [64, 1200];
  const at = async (size: number) => {
    const bursts: UdpBurst[] = [];
    await udpBurst(size, o.count); // warm-up
    for (let r = 0; r < o.reps; r++) bursts.push(await udpBurst(size, o.count));
    return { send: median(bursts.map((b) => b.sendUs)), receive: median(bursts.map((b) => b.receiveUs)) };
  };
  const a = await at(small);
  const b = await at(large);
  const fit = (x: number, y: number) => {
    const perByteUs = Math.max(0, (y - x) / (large - small));
    return { baseUs: Math.max(0, x - perByteUs * small), perByteUs };
  };
  const echoes: number[] = [];
  for (let r = 0; r < o.reps; r++) echoes.push((await udpPingPong(200, 1000)).cpuUsPerEcho);
  return { send: fit(a.send, b.send), receive: fit(a.receive, b.receive), woken: { echoUs: median(echoes) } };
}
