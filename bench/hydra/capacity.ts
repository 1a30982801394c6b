import { type ChildProcess, fork } from 'node:child_process';
import type { WorkerArgs } from './worker.js';

const WORKER = new URL('./worker.js', import.meta.url).pathname;

function start(args: WorkerArgs): Promise<ChildProcess> {
  const child = fork(WORKER, [JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`bench worker ${args.role} exited with code ${code}`)));
  });
}

const ask = (child: ChildProcess): Promise<number> =>
  new Promise((resolve) => {
    child.once('message', (m: { handled: number }) => resolve(m.handled));
    child.send('report');
  });

/**
 * Saturates a device under test (bare forwarder or Hydra sequencer) with one generator and
 * measures how many messages per second it handles, each multicast to `fanout` sink sockets.
 */
export async function measureCapacity(dut: 'forwarder' | 'sequencer', fanout: number, payloadBytes: number, seconds: number, basePort: number) {
  const base = { basePort, fanout, payloadBytes };
  const sink = await start({ ...base, role: 'sink' });
  const device = await start({ ...base, role: dut });
  const generator = await start({ ...base, role: 'generator' });
  try {
    await new Promise((r) => setTimeout(r, 700));
    for (const c of [device, generator, sink]) c.send('mark');
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const [handled, offered, received] = await Promise.all([ask(device), ask(generator), ask(sink)]);
    const elapsed = (performance.now() - t0) / 1000;
    return { messages_per_s: handled / elapsed, offered_per_s: offered / elapsed, delivered_datagrams_per_s: received / elapsed };
  } finally {
    for (const c of [generator, device, sink]) c.kill('SIGKILL');
  }
}
