import type { ConfigCommand, ConfigState } from '../../node/hydra/config-state.js';
import type { HydraMsg } from '../../node/hydra/messages.js';
import type { LogState, PaxosMsg } from '../../node/hydrapaxos/messages.js';
import type { OrderedMulticast } from '../../node/neobft/aom-messages.js';
import type { NeoMsg } from '../../node/neobft/messages.js';
import type { PbftMsg } from '../../node/pbft/messages.js';
import type { Block, HotStuffMsg } from '../../node/hotstuff/messages.js';
import type { Checkpoint as ZyCheckpoint, SignedResponse, ViewChange as ZyViewChange, ZyzzyvaMsg } from '../../node/zyzzyva/messages.js';
import type { CapybaraMsg } from '../../node/capybara/messages.js';
import type { TcpControlBlockState } from '../../node/capybara/tcp/connection.js';
import { ACK, PSH, SYN, type TcpPacket } from '../../node/capybara/tcp/packet.js';

/** One or more valid messages of every type each codec speaks: round-trip tests and the fuzzers' seeds. */

const hydraPayload = new Uint8Array([1, 2, 3, 250]);
const big = 2 ** 52 + 12345;
export const hydraSamples: HydraMsg[] = [
  { type: 'client', client: 7, msgId: 4_000_000_000, groups: 0b101, sentAt: big, payload: hydraPayload },
  { type: 'groupcast', config: 9, sequencer: 3, clock: big, groups: 0b110, stamps: [5, big], client: 1, msgId: 2, sentAt: 3, payload: hydraPayload },
  { type: 'flush', solicited: true, config: 2, sequencer: 1, clock: 77, seqs: [1, 2, 3] },
  { type: 'aggflush', flushes: [{ config: 2, sequencer: 1, clock: 77, seqs: [1] }, { config: 3, sequencer: 2, clock: 78, seqs: [0] }] },
  { type: 'flushreq', receiver: 250, config: 4 },
  { type: 'suspect', receiver: 251, config: 4, sequencer: 2 },
  { type: 'prepare', newConfig: 5, change: 'add', sequencer: 3 },
  { type: 'prepare', newConfig: 6, change: 'remove', sequencer: 0 },
  { type: 'removereport', newConfig: 6, reporter: 100, sequencer: 0, clock: big, seqs: [10, 0] },
  { type: 'addreport', newConfig: 5, receiver: 200, sequencer: 3, clock: 99 },
  {
    type: 'config', config: 6, active: [{ sequencer: 1, joined: 1, start: 0, incarnation: big }],
    finals: [{ sequencer: 0, config: 6, clock: big, seqs: [10, 0], joined: 2 }],
  },
  { type: 'configack', member: 2001, config: 6 },
  { type: 'load', sequencer: 2, rate: 1234.5 },
  { type: 'join', sequencer: 2, incarnation: big },
  ...replicationSamples(),
];

/** The configuration service's replication messages (Viewstamped Replication), one of each, carrying every command kind. */
function replicationSamples(): HydraMsg[] {
  const state: ConfigState = {
    config: { type: 'config', config: 6, active: [{ sequencer: 1, joined: 1, start: 0, incarnation: big }], finals: [{ sequencer: 0, config: 6, clock: big, seqs: [10, 0], joined: 2 }] },
    desired: [0, 1, 3], desiredAt: big, change: { kind: 'remove', sequencer: 1, incarnation: big, newConfig: 7 },
  };
  const ops: ConfigCommand[] = [
    { kind: 'desire', sequencers: [0, 2], at: 5 }, { kind: 'admit', sequencer: 2, incarnation: big },
    { kind: 'begin', change: { kind: 'add', sequencer: 4, incarnation: 9, newConfig: 8 } },
    { kind: 'removed', newConfig: 7, final: { sequencer: 1, config: 7, clock: big, seqs: [3, 4] } },
    { kind: 'added', newConfig: 8, start: big }, { kind: 'aborted', newConfig: 8 },
  ];
  const log = { commit: 12, state, ops };
  return [
    { type: 'vr-prepare', view: 3, op: 13, command: ops[2]!, commit: 12 },
    { type: 'vr-prepare-ok', view: 3, op: 13, replica: 2 },
    { type: 'vr-commit', view: 3, commit: 13 },
    { type: 'vr-start-view-change', view: 4, replica: 1 },
    { type: 'vr-do-view-change', view: 4, lastNormal: 3, log, replica: 1 },
    { type: 'vr-start-view', view: 4, log: { ...log, state: { ...state, change: null } } },
    { type: 'vr-recovery', replica: 0, nonce: big },
    { type: 'vr-recovery-response', view: 4, nonce: big, replica: 1, recovering: false, log },
    { type: 'vr-recovery-response', view: 0, nonce: big, replica: 2, recovering: true, log: null },
    { type: 'vr-get-state', view: 4, op: 9, replica: 0 },
    { type: 'vr-new-state', view: 4, log },
    { type: 'vr-request', command: ops[0]! },
  ];
}

const slot = { sequencer: 2, epoch: 3, seq: 123_456_789 };
const entry = (i: number) => ({
  slot: { sequencer: i % 4, epoch: 1, seq: i + 1 }, clock: 1_000 + i, groups: i % 2 ? 0b101 : 0b1, stamps: i % 2 ? [i + 1, 2 ** 40 + i] : [i + 1],
  request: new Uint8Array([i & 0xff, 7, 9]),
});
const stamp = { ...slot, group: 5 };
export const paxosLog = (n: number): LogState => ({
  sync: { key: { clock: -1, sequencer: -1 }, streams: [] },
  entries: Array.from({ length: n }, (_, i) => entry(i)),
  noops: [slot],
  end: { key: { clock: 5_000, sequencer: 1 }, streams: [{ sequencer: 1, epoch: 1, next: 42 }] },
  holds: n > 1 ? [{ ...stamp, state: 'held' }, { ...stamp, seq: 3, state: 'dropped' }] : [],
});

export const paxosSamples: PaxosMsg[] = [
  { type: 'px-reply', view: 4, group: 0, replica: 1, client: 7, requestId: 99, slot, result: new Uint8Array([1, 2]) },
  { type: 'px-reply', view: 4, group: 3, replica: 2, client: 7, requestId: 99, slot, result: null },
  { type: 'px-gap-request', view: 1, replica: 0, slot },
  { type: 'px-gap-reply', view: 1, replica: 2, slot, status: 'found', entry: entry(5) },
  { type: 'px-gap-reply', view: 1, replica: 2, slot, status: 'truncated', entry: null },
  { type: 'px-gap-commit', view: 9, slot },
  { type: 'px-gap-commit-ok', view: 9, replica: 1, slot },
  { type: 'px-sync', view: 2, point: paxosLog(0).end, noops: [slot, { ...slot, seq: 1 }] },
  { type: 'px-sync-ok', view: 2, replica: 1, key: { clock: 77, sequencer: 0 } },
  { type: 'px-sync-commit', view: 2, key: { clock: -1, sequencer: -1 } },
  { type: 'px-view-change-request', view: 3 },
  { type: 'px-view-change', view: 3, replica: 2, lastNormal: 2, log: paxosLog(3) },
  { type: 'px-start-view', view: 3, log: paxosLog(2) },
  { type: 'px-state-request', replica: 1, nonce: 5 },
  { type: 'px-state-empty', replica: 2, nonce: 5, recovering: true },
  { type: 'px-state', replica: 0, nonce: 5, view: 3, normal: true, config: new Uint8Array([0x48, 10]), store: new Uint8Array([123, 125]), log: paxosLog(1) },
  { type: 'px-hold', view: 2, hold: { ...stamp, state: 'released' } },
  { type: 'px-hold-ok', view: 2, replica: 1, hold: { ...stamp, state: 'held' } },
  { type: 'px-txn-find', group: 1, stamp },
  { type: 'px-txn-answer', group: 0, stamp, status: 'found', entry: entry(3) },
  { type: 'px-txn-answer', group: 0, stamp, status: 'held', entry: null },
  { type: 'px-txn-decide', group: 1, stamp, entry: entry(1) },
  { type: 'px-txn-decide', group: 1, stamp, entry: null },
  { type: 'px-txn-decided', group: 2, stamp },
];

const b = (n: number, v = 1) => new Uint8Array(n).fill(v);
const view = { epoch: 3, leader: 1 };
const oc: OrderedMulticast = { type: 'aom', header: { group: 0, epoch: 3, seq: 42, digest: b(32, 2) }, auth: { scheme: 'hm', macs: Uint32Array.of(1, 2, 3, 4) }, payload: b(5, 9) };
const drop = { type: 'gap-drop' as const, view, replica: 2, slot: 42, sig: b(64, 4) };
export const neoSamples: NeoMsg[] = [
  { type: 'reply', view, replica: 3, slot: 42, logHash: b(32, 5), client: 7, requestId: 99, result: b(3, 6), mac: b(32, 7) },
  { type: 'query', view, replica: 2, slot: 42 },
  { type: 'query-reply', view, slot: 42, oc },
  { type: 'gap-find', view, replica: 1, slot: 42, sig: b(64, 8) },
  { type: 'gap-recv', view, replica: 0, slot: 42, oc },
  drop,
  { type: 'gap-decision', view, replica: 1, slot: 42, recv: null, drops: [drop, { ...drop, replica: 3 }], sig: b(64, 9) },
  { type: 'gap-decision', view, replica: 1, slot: 42, recv: oc, drops: [], sig: b(64, 10) },
  { type: 'gap-prepare', view, replica: 0, slot: 42, digest: b(32, 11), sig: b(64, 12) },
  { type: 'gap-commit', view, replica: 0, slot: 42, digest: b(32, 11), sig: b(64, 13) },
  { type: 'direct-request', payload: b(10, 14) },
  { type: 'confirm', view, replica: 2, slot: 42, digest: b(32, 15), need: true, sig: b(64, 16) },
  { type: 'sync', view, replica: 1, slot: 128, logHash: b(32, 17), stateDigest: b(32, 26), epochStart: 100, resent: true, sig: b(64, 18) },
  {
    type: 'view-change', view: { epoch: 2, leader: 300 }, replica: 3,
    cert: [{ type: 'sync', view, replica: 1, slot: 128, logHash: b(32, 17), stateDigest: b(32, 26), epochStart: 0, resent: false, sig: b(64, 18) }], base: b(32, 19),
    entries: [
      { kind: 'message', slot: 128, oc, confirms: [] },
      { kind: 'message', slot: 129, oc, confirms: [{ type: 'confirm', view, replica: 2, slot: 129, digest: b(32, 15), need: false, sig: b(64, 16) }] },
      { kind: 'no-op', slot: 131, commits: [{ type: 'gap-commit', view, replica: 0, slot: 131, digest: new Uint8Array(32), sig: b(64, 13) }] },
    ],
    tailSign: { type: 'aom-sign', group: 0, epoch: 1, seq: 31, chain: b(32, 20), signature: b(64, 21) }, sig: b(64, 22),
  },
  { type: 'view-start', view: { epoch: 2, leader: 1 }, replica: 1, refs: [{ replica: 0, digest: b(32, 23) }, { replica: 2, digest: b(32, 24) }], sig: b(64, 25) },
  { type: 'view-change-fetch', view: { epoch: 2, leader: 1 }, replica: 3, of: 0 },
  { type: 'state-request', replica: 2, executed: 155 },
  {
    type: 'state-reply', replica: 1, snapshot: b(40, 27),
    cert: [{ type: 'sync', view, replica: 1, slot: 256, logHash: b(32, 17), stateDigest: b(32, 26), epochStart: 0, resent: false, sig: b(64, 18) }],
  },
  { type: 'recovery', replica: 3, nonce: 2 ** 40 + 7 },
  {
    type: 'recovery-reply', view, replica: 0, nonce: 2 ** 40 + 7, executed: 300, sig: b(64, 28),
    cert: [{ type: 'sync', view, replica: 2, slot: 256, logHash: b(32, 17), stateDigest: b(32, 26), epochStart: 0, resent: false, sig: b(64, 18) }],
  },
];

const aomDigest = Uint8Array.from({ length: 32 }, (_, i) => i);
export const aomSamples: NeoMsg[] = [
  { type: 'aom-request', group: 3, payload: new Uint8Array([1, 2, 3]) },
  { type: 'aom', header: { group: 0, epoch: 7, seq: 2 ** 40 + 5, digest: aomDigest }, auth: { scheme: 'hm', macs: Uint32Array.of(1, 2, 0xffffffff) }, payload: new Uint8Array([9]) },
  { type: 'aom', header: { group: 1, epoch: 1, seq: 1, digest: aomDigest }, auth: { scheme: 'pk', linked: aomDigest, signature: new Uint8Array(64).fill(5) }, payload: new Uint8Array() },
  { type: 'aom', header: { group: 1, epoch: 1, seq: 2, digest: aomDigest }, auth: { scheme: 'pk', linked: aomDigest, signature: null }, payload: new Uint8Array([4, 4]) },
  { type: 'aom-sign', group: 1, epoch: 2, seq: 99, chain: aomDigest, signature: new Uint8Array(64).fill(6) },
];

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const checkpoint = { type: 'checkpoint' as const, seq: 128, replica: 2, digest: fill(32, 1), sig: fill(64, 2) };
export const pbftSamples: PbftMsg[] = [
  { type: 'request', payload: fill(12, 3) },
  { type: 'pre-prepare', view: 2, seq: 2 ** 40, replica: 1, batch: [fill(5, 4), new Uint8Array(0)], auth: fill(24, 5) },
  { type: 'prepare', view: 2, seq: 7, replica: 3, digest: fill(32, 6), resent: true, auth: fill(24, 7) },
  { type: 'commit', view: 2, seq: 7, replica: 0, digest: fill(32, 6), resent: false, auth: new Uint8Array(0) },
  { type: 'reply', view: 2, replica: 1, client: 9, requestId: 4_000_000_000, result: fill(3, 8), mac: fill(32, 9) },
  checkpoint,
  {
    type: 'view-change', view: 3, replica: 2, checkpoint: [checkpoint, { ...checkpoint, replica: 0 }],
    prepared: [{ seq: 129, view: 2, digest: fill(32, 10) }], prePrepared: [{ seq: 130, view: 2, digest: fill(32, 11) }],
    batches: [[fill(4, 12)], []], sig: fill(64, 13),
  },
  { type: 'new-view', view: 3, replica: 3, changes: [{ replica: 0, digest: fill(32, 14) }, { replica: 2, digest: fill(32, 15) }], sig: fill(64, 16) },
  { type: 'view-change-fetch', view: 3, replica: 1, wanted: 2 },
  { type: 'state-request', seq: 256, replica: 3 },
  { type: 'state-reply', seq: 256, replica: 0, checkpoint: [checkpoint], snapshot: fill(40, 17) },
];

const qc = { view: 7, hash: fill(32, 20), votes: [{ replica: 0, sig: fill(64, 21) }, { replica: 2, sig: fill(64, 22) }, { replica: 3, sig: fill(64, 23) }] };
const block: Block = { view: 8, height: 2 ** 40, parent: fill(32, 20), justify: qc, batch: [fill(6, 24), new Uint8Array(0)] };
const hsCheckpoint = { type: 'checkpoint' as const, height: 64, batchHeight: 61, replica: 1, hash: fill(32, 25), digest: fill(32, 26), sig: fill(64, 27) };
export const hotstuffSamples: HotStuffMsg[] = [
  { type: 'request', payload: fill(12, 3) },
  { type: 'proposal', replica: 2, block, sig: fill(64, 28) },
  { type: 'proposal', replica: 1, block: { view: 1, height: 1, parent: fill(32, 0), justify: { view: 0, hash: fill(32, 0), votes: [] }, batch: [] }, sig: fill(64, 29) },
  { type: 'vote', view: 8, replica: 3, hash: fill(32, 30), sig: fill(64, 31) },
  { type: 'new-view', view: 12, replica: 0, qc, sig: fill(64, 32) },
  { type: 'reply', view: 8, replica: 1, client: 9, requestId: 4_000_000_000, result: fill(3, 8), mac: fill(32, 9) },
  { type: 'block-fetch', replica: 2, hash: fill(32, 33), committed: 48 },
  { type: 'block-reply', replica: 0, block },
  hsCheckpoint,
  { type: 'state-request', committed: 0, replica: 3 },
  { type: 'state-reply', replica: 1, block, proof: [hsCheckpoint, { ...hsCheckpoint, replica: 2 }], snapshot: fill(40, 17) },
];

const zyCheckpoint: ZyCheckpoint = { type: 'checkpoint', seq: 32, view: 2, history: fill(32, 1), digest: fill(32, 2), replica: 3, sig: fill(64, 3) };
const zyResponse: SignedResponse = { view: 2, seq: 40, history: fill(32, 4), resultDigest: fill(32, 5), client: 7, requestId: 2 ** 40, replica: 1, sig: fill(64, 6) };
const zyHeader = { view: 2, seq: 40, history: fill(32, 4), digest: fill(32, 7), sig: fill(64, 8) };
const zyViewChange: ZyViewChange = {
  type: 'view-change', view: 3, replica: 2, checkpoint: [zyCheckpoint, { ...zyCheckpoint, replica: 0 }], cc: [zyResponse, { ...zyResponse, replica: 2 }],
  ordered: [{ seq: 33, view: 2, history: fill(32, 9), batch: [fill(6, 10), new Uint8Array(0)] }], sig: fill(64, 11),
};
export const zyzzyvaSamples: ZyzzyvaMsg[] = [
  { type: 'request', payload: fill(12, 3) },
  { type: 'order-req', ...zyHeader, batch: [fill(5, 4), new Uint8Array(0)] },
  { type: 'order-req', ...zyHeader, sig: new Uint8Array(0), batch: [] },
  { type: 'spec-response', response: zyResponse, result: fill(3, 12), order: zyHeader },
  { type: 'commit', client: 7, requestId: 2 ** 40, cc: [zyResponse, { ...zyResponse, replica: 3 }] },
  { type: 'local-commit', view: 2, seq: 40, history: fill(32, 4), client: 7, requestId: 9, replica: 0, result: fill(3, 12), mac: fill(32, 13) },
  { type: 'confirm-req', view: 2, replica: 1, have: 39, payload: fill(12, 3) },
  { type: 'fill-hole', view: 2, from: 33, to: 40, replica: 2 },
  { type: 'i-hate-the-primary', view: 2, replica: 3, sig: fill(64, 14) },
  { type: 'pom', a: zyHeader, b: { ...zyHeader, history: fill(32, 15) } },
  zyCheckpoint,
  zyViewChange,
  { type: 'new-view', view: 3, replica: 3, changes: [zyViewChange, { ...zyViewChange, replica: 1, checkpoint: [], cc: [] }], sig: fill(64, 16) },
  { type: 'view-confirm', view: 3, seq: 33, history: fill(32, 9), replica: 1, sig: fill(64, 17) },
  { type: 'state-request', seq: 32, replica: 0 },
  { type: 'state-reply', seq: 32, replica: 2, checkpoint: [zyCheckpoint], snapshot: fill(40, 18) },
];

const A = 0x0a00_0064;
const B = 0x0a00_03e8;
export const tcpSamples: TcpPacket[] = [
  { srcIp: B, dstIp: A, srcPort: 49152, dstPort: 6379, seq: 0xffff_fff0, ack: 0, flags: SYN, window: 65535, mss: 1460, wscale: 7, payload: new Uint8Array(0) },
  { srcIp: A, dstIp: B, srcPort: 6379, dstPort: 49152, seq: 5, ack: 7, flags: ACK | PSH, window: 512, payload: new TextEncoder().encode('SET k v\r\n') },
];

export const tcpStateSamples: TcpControlBlockState[] = [
  {
    local: { ip: A, port: 6379 }, remote: { ip: B, port: 49152 }, receiveBufferSize: 65536, windowScale: 7, outOfOrderFin: 900,
    outOfOrderQueue: [{ seq: 800, data: fill(10, 1) }], readerNext: 100, receiveNext: 120, recvQueue: [fill(20, 2)], unsentSeqNo: 300,
    sendUnacked: 200, sendNext: 250, sendWindow: 1000, sendWindowLastUpdateSeq: 110, sendWindowLastUpdateAck: 200, mss: 1460,
    sendWindowScale: 7, unackedQueue: [{ seq: 200, data: fill(50, 3) }], unsentQueue: [fill(50, 4)], state: 'ESTABLISHED', iss: 199,
    finQueued: false, sendMax: 250, srttUs: 300, rttvarUs: 150, rtoUs: 200_000, timerRemainingUs: 1234, retries: 1, ackPending: true,
  },
  {
    local: { ip: A, port: 6379 }, remote: { ip: B, port: 49153 }, receiveBufferSize: 1024, windowScale: 0, outOfOrderFin: null,
    outOfOrderQueue: [], readerNext: 1, receiveNext: 1, recvQueue: [], unsentSeqNo: 5, sendUnacked: 5, sendNext: 5, sendWindow: 0,
    sendWindowLastUpdateSeq: 0, sendWindowLastUpdateAck: 0, mss: 536, sendWindowScale: 0, unackedQueue: [], unsentQueue: [],
    state: 'SYN_RECEIVED', iss: 4, finQueued: true, sendMax: 5, srttUs: 0, rttvarUs: 0, rtoUs: 1_000_000, timerRemainingUs: null, retries: 0, ackPending: false,
  },
];

export const capybaraSamples: CapybaraMsg[] = [
  {
    kind: 'mig', payload: fill(30, 5),
    header: { originIp: A, originPort: 6379, clientIp: B, clientPort: 49152, fragment: 3, flags: 2, stage: 4, targetIp: A + 1, migration: 0x0065_0001 },
  },
  { kind: 'mig', payload: new Uint8Array(0), header: { originIp: A, originPort: 6379, clientIp: B, clientPort: 1, fragment: 0, flags: 1, stage: 2, targetIp: 0, migration: 9 } },
  { kind: 'rps', sum: 100, individual: 40, incarnation: 0x1234_5678 },
  { kind: 'whoHas', clientIp: B, clientPort: 49152 },
  { kind: 'own', serverIp: A, clients: [B * 0x1_0000 + 49152, B * 0x1_0000 + 65535] },
];
