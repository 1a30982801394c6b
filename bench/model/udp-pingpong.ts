import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Endpoint } from '../../node/runtime/addressing.js';
import { UdpTransport } from '../../node/runtime/udp.js';

const ECHO = new URL('./udp-echo.js', import.meta.url).pathname;

export interface PingPong {
  /** CPU µs (user + system) a side spent per datagram it received and answered, both sides' mean. */
  cpuUsPerEcho: number;
  roundTripUs: number;
}

/**
 * One datagram in flight between two processes (udp-echo.ts is the other), `count` round trips:
 * each side sleeps until its datagram comes, as a lightly loaded member does, so each datagram
 * also pays a wake-up (scheduler, epoll, a libuv loop turn) that a burst does not.
 */
export async function udpPingPong(size: number, count: number): Promise<PingPong> {
  let far: Endpoint | undefined;
  const me = await UdpTransport.open({
    bindHost: '127.0.0.1', port: 0, book: { resolve: () => far, heardFrom() {}, close() {} }, isMember: () => true,
  });
  const child = spawn(process.execPath, [ECHO, String(me.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  try {
    far = { host: '127.0.0.1', port: Number((await lines.next()).value) };
    const bytes = new Uint8Array(size).fill(3);
    let left = count;
    let since: NodeJS.CpuUsage | null = null;
    let t0 = 0n;
    // The first round trip warms both sides up; timing starts when it returns.
    const done = new Promise<void>((resolve) => {
      me.onReceive(() => {
        if (!since) {
          since = process.cpuUsage();
          t0 = process.hrtime.bigint();
        }
        if (--left > 0) me.send(0, bytes);
        else resolve();
      });
    });
    me.send(0, bytes);
    await done;
    const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
    const used = process.cpuUsage(since!);
    me.send(0, Uint8Array.of(0));
    const echo = JSON.parse(String((await lines.next()).value)) as { cpuUs: number; echoed: number };
    const mine = (used.user + used.system) / (count - 1);
    return { cpuUsPerEcho: (mine + echo.cpuUs / echo.echoed) / 2, roundTripUs: wallUs / (count - 1) };
  } finally {
    child.kill();
    me.close();
  }
}
