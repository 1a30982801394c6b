import { addressBook } from '../../node/runtime/addressing.js';
import { UdpTransport } from '../../node/runtime/udp.js';

/**
 * The far end of the ping-pong measurement (udp-pingpong.ts), a process of its own as every
 * member is: echoes each datagram back to the port on its command line, and on a 1-byte datagram
 * prints the CPU µs it spent since its first datagram and exits.
 */
const peerPort = Number(process.argv[2]);
const PEER = 1;
const echo = await UdpTransport.open({
  bindHost: '127.0.0.1', port: 0, book: addressBook({ kind: 'loopback', host: '127.0.0.1', basePort: peerPort - PEER }, String), isMember: () => true,
});
let since: NodeJS.CpuUsage | null = null;
let echoed = 0;
echo.onReceive((bytes) => {
  if (bytes.length === 1) {
    const used = process.cpuUsage(since ?? undefined);
    process.stdout.write(`${JSON.stringify({ cpuUs: used.user + used.system, echoed })}\n`);
    echo.close();
    return;
  }
  since ??= process.cpuUsage();
  echoed++;
  echo.send(PEER, bytes);
});
process.stdout.write(`${echo.port}\n`);
