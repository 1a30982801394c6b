import { test } from 'node:test';
import { echoApp } from '../node/capybara/app/echo.js';
import { kvApp } from '../node/capybara/app/kv.js';
import { capybaraCodec } from '../node/capybara/codec.js';
import type { CapybaraMsg } from '../node/capybara/messages.js';
import { decodeTcpPacket, encodeTcpPacket } from '../node/capybara/tcp/packet.js';
import { decodeTcpState, encodeTcpState } from '../node/capybara/tcp/state-codec.js';
import { hydraCodec } from '../node/hydra/codec.js';
import { PaxosReassembly, chunksOf, hydraPaxosCodec } from '../node/hydrapaxos/codec.js';
import { neoCodec } from '../node/neobft/codec.js';
import { pbftCodec } from '../node/pbft/codec.js';
import { hotstuffCodec } from '../node/hotstuff/codec.js';
import { zyzzyvaCodec } from '../node/zyzzyva/codec.js';
import { fuzzDecoder } from './support/fuzz.js';
import { fixChecksums } from './support/tcp-checksums.js';
import {
  aomSamples, capybaraSamples, hotstuffSamples, hydraSamples, neoSamples, paxosLog, paxosSamples, pbftSamples, tcpSamples, tcpStateSamples, zyzzyvaSamples,
} from './support/wire-samples.js';

/**
 * Every wire decoder under damaged and random datagrams (see support/fuzz.ts): refused with a
 * WireError or decoded to a message that round-trips, never another exception.
 */

test('Hydra codec: damaged datagrams are refused with a WireError or round-trip', () => {
  fuzzDecoder({ decode: hydraCodec.decode, encode: hydraCodec.encode, valid: hydraSamples.map(hydraCodec.encode) });
});

test('HydraPaxos codec (with chunks reassembled): damaged datagrams are refused with a WireError or round-trip', () => {
  const chunk = chunksOf({ type: 'px-start-view', view: 7, log: paxosLog(3000) }, 1, 42)[0]!;
  fuzzDecoder({
    decode(bytes) {
      const m = hydraPaxosCodec.decode(bytes);
      // A chunk that claims to be the whole message is reassembled (and decoded) at once.
      if (m.type === 'px-chunk' && m.total === 1) new PaxosReassembly().add(m);
      return m;
    },
    encode: hydraPaxosCodec.encode,
    valid: [...paxosSamples, chunk, hydraSamples[2]!].map(hydraPaxosCodec.encode),
  });
});

test('NeoBFT codec (protocol messages and AOM): damaged datagrams are refused with a WireError or round-trip', () => {
  fuzzDecoder({ decode: neoCodec.decode, encode: neoCodec.encode, valid: [...neoSamples, ...aomSamples].map(neoCodec.encode) });
});

test('PBFT codec: damaged datagrams are refused with a WireError or round-trip', () => {
  fuzzDecoder({ decode: pbftCodec.decode, encode: pbftCodec.encode, valid: pbftSamples.map(pbftCodec.encode) });
});

test('HotStuff codec: damaged datagrams are refused with a WireError or round-trip', () => {
  fuzzDecoder({ decode: hotstuffCodec.decode, encode: hotstuffCodec.encode, valid: hotstuffSamples.map(hotstuffCodec.encode) });
});

test('Zyzzyva codec: damaged datagrams are refused with a WireError or round-trip', () => {
  fuzzDecoder({ decode: zyzzyvaCodec.decode, encode: zyzzyvaCodec.encode, valid: zyzzyvaSamples.map(zyzzyvaCodec.encode) });
});

test('Capybara codec (TCP/IPv4 segments, TCPMig, RPS), checksums repaired or not: refused with a WireError or round-trip', () => {
  // The raw bytes a decoded segment keeps are the input itself; the packet's fields are what round-trips.
  const fields = (m: CapybaraMsg): CapybaraMsg => (m.kind === 'tcp' ? { kind: 'tcp', packet: m.packet } : m);
  fuzzDecoder({
    decode: (bytes) => fields(capybaraCodec.decode(bytes)),
    encode: (m) => (m.kind === 'tcp' ? encodeTcpPacket(m.packet) : capybaraCodec.encode(m)),
    valid: [...tcpSamples.map(encodeTcpPacket), ...capybaraSamples.map(capybaraCodec.encode)],
    repair: (bytes) => {
      if (bytes[0] === 0x45) fixChecksums(bytes);
    },
  });
  fuzzDecoder({ decode: decodeTcpPacket, encode: encodeTcpPacket, valid: tcpSamples.map(encodeTcpPacket), repair: fixChecksums });
});

test('migrated state (CONN_STATE): the TCP control block and the applications\' sessions are refused with a WireError or round-trip', () => {
  fuzzDecoder({ decode: decodeTcpState, encode: encodeTcpState, valid: tcpStateSamples.map(encodeTcpState) });
  const session = kvApp.open();
  session.feed(new TextEncoder().encode('SET a 1\r\nSET bb 22\r\nINCR a\r\nGET'));
  fuzzDecoder({
    decode: (bytes) => kvApp.restore(bytes).exportState(),
    valid: [session.exportState(), kvApp.open().exportState()],
  });
  fuzzDecoder({ decode: (bytes) => echoApp.restore(bytes).exportState(), valid: [new Uint8Array(0)] });
});
