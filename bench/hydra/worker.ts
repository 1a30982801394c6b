/**
 * Processes of the raw-capacity benchmark, forked by capacity.ts: a load generator, a sink, and
 * the two devices under test — a bare UDP forwarder (the baseline) and the real Hydra sequencer
 * (its core in the same Driver and UDP transport a pod runs). Each answers `mark` and `report`
 * over IPC with the number of messages it handled.
 */
import dgram from 'node:dgram';
import { addressBook } from '../../node/runtime/addressing.js';
import { UdpTransport } from '../../node/runtime/udp.js';
import { EmulatedClock, timerScheduler } from '../../node/runtime/clock.js';
import { Driver } from '../../node/runtime/driver.js';
import { hydraCodec } from '../../node/hydra/codec.js';
import { Sequencer } from '../../node/hydra/sequencer.js';
import { type HydraTopology, hydraMemberName, initialConfig, receiverNode, sequencerNode } from '../../node/hydra/topology.js';

export interface WorkerArgs {
  role: 'generator' | 'sink' | 'forwarder' | 'sequencer';
  basePort: number;
  fanout: number;
  payloadBytes: number;
}

const args = JSON.parse(process.argv[2]!) as WorkerArgs;
const host = '127.0.0.1';
let handled = 0;
let marked = 0;

const topology: HydraTopology = { groups: 1, receiversPerGroup: args.fanout, clients: 0, aggregator: false, configReplicas: 1, initial: initialConfig(1) };
const dutPort = args.basePort + sequencerNode(0);
const sinkPorts = Array.from({ length: args.fanout }, (_, r) => args.basePort + receiverNode(0, r));

function bind(port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, host, () => {
      try {
        s.setRecvBufferSize(8 << 20);
        s.setSendBufferSize(8 << 20);
      } catch {
        // capped by the kernel
      }
      resolve(s);
    });
  });
}

async function main(): Promise<void> {
  switch (args.role) {
    case 'sink':
      for (const port of sinkPorts) (await bind(port)).on('message', () => handled++);
      break;
    case 'forwarder': {
      const s = await bind(dutPort);
      s.on('message', (msg) => {
        handled++;
        for (const port of sinkPorts) s.send(msg, port, host);
      });
      break;
    }
    case 'sequencer': {
      // Whatever the sequencer addresses is a sink's port (the bench has no testbed to check ids against).
      const transport = await UdpTransport.open({
        bindHost: host, port: dutPort, book: addressBook({ kind: 'loopback', host, basePort: args.basePort }, hydraMemberName), isMember: () => true,
      });
      const core = new Sequencer(
        { id: 0, incarnation: 7, topology, flushIntervalUs: 1000, minFlushGapUs: 100, loadIntervalUs: 10_000, joinRetryUs: 50_000 },
        { stamped: () => handled++, flushed() {}, rejected() {}, configured() {} },
      );
      new Driver(core, hydraCodec, transport, new EmulatedClock(), timerScheduler).start();
      // Admit it, as the configuration service would after its JOIN.
      const admit = hydraCodec.encode({ ...initialConfig(1), active: [{ sequencer: 0, joined: 1, start: 0, incarnation: 7 }] });
      dgram.createSocket('udp4').send(admit, dutPort, host);
      break;
    }
    case 'generator': {
      const s = await bind(0);
      const packet = hydraCodec.encode({
        type: 'client', client: 0, msgId: 1, groups: 1, sentAt: 0, payload: new Uint8Array(args.payloadBytes),
      });
      let inFlight = 0;
      const pump = () => {
        // Keep a bounded number of sends queued in libuv so the generator never runs away.
        while (inFlight < 512) {
          inFlight++;
          handled++;
          s.send(packet, dutPort, host, () => inFlight--);
        }
        setImmediate(pump);
      };
      pump();
      break;
    }
  }
  process.send!({ ready: true });
}

process.on('message', (m: string) => {
  if (m === 'mark') marked = handled;
  else if (m === 'report') process.send!({ handled: handled - marked });
  else if (m === 'exit') process.exit(0);
});

main().catch((err) => {
  process.stderr.write(`bench worker ${args.role}: ${(err as Error).message}\n`);
  process.exit(1);
});
