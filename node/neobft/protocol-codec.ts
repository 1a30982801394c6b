import { WireError } from '../runtime/core.js';
import type { Reader, Writer } from '../runtime/wire.js';
import { AOM_TYPE, aomSize, readAom, writeAom } from './aom-codec.js';
import type { OrderedMulticast } from './aom-messages.js';
import type { GapDrop, GapFind, ProtocolMsg, View } from './protocol-messages.js';

export const PROTOCOL_TYPE = {
  reply: 10, query: 11, 'query-reply': 12, 'gap-find': 13, 'gap-recv': 14, 'gap-drop': 15, 'gap-decision': 16,
  'gap-prepare': 17, 'gap-commit': 18, 'direct-request': 19, confirm: 20, sync: 21,
} as const;

const VIEW = 4 + 1;
const SLOT = 8;
const SIG = 64;
const MAX_DROPS = 64;

const ocSize = (oc: OrderedMulticast) => aomSize(oc);
const dropSize = VIEW + 1 + SLOT + SIG;

export function protocolSize(m: ProtocolMsg): number {
  switch (m.type) {
    case 'reply':
      return VIEW + 1 + SLOT + 32 + 2 + 4 + 2 + m.result.length + 32;
    case 'query':
      return VIEW + 1 + SLOT;
    case 'query-reply':
      return VIEW + SLOT + ocSize(m.oc);
    case 'gap-find':
    case 'gap-drop':
      return VIEW + 1 + SLOT + SIG;
    case 'gap-recv':
      return VIEW + 1 + SLOT + ocSize(m.oc);
    case 'gap-decision':
      return VIEW + 1 + SLOT + 1 + (m.recv ? ocSize(m.recv) : 0) + 1 + m.drops.length * dropSize + SIG;
    case 'gap-prepare':
    case 'gap-commit':
    case 'sync':
      return VIEW + 1 + SLOT + 32 + SIG;
    case 'confirm':
      return VIEW + 1 + SLOT + 32 + 1 + SIG;
    case 'direct-request':
      return 4 + m.payload.length;
  }
}

const writeView = (w: Writer, v: View) => w.u32(v.epoch).u8(v.leader);

function writeDrop(w: Writer, d: GapDrop | GapFind): void {
  writeView(w, d.view);
  w.u8(d.replica).u64(d.slot).raw(d.sig);
}

export function writeProtocol(w: Writer, m: ProtocolMsg): void {
  switch (m.type) {
    case 'reply':
      writeView(w, m.view);
      w.u8(m.replica).u64(m.slot).raw(m.logHash).u16(m.client).u32(m.requestId).u16(m.result.length).raw(m.result).raw(m.mac);
      return;
    case 'query':
      writeView(w, m.view);
      w.u8(m.replica).u64(m.slot);
      return;
    case 'query-reply':
      writeView(w, m.view);
      w.u64(m.slot);
      writeAom(w, m.oc);
      return;
    case 'gap-find':
    case 'gap-drop':
      writeDrop(w, m);
      return;
    case 'gap-recv':
      writeView(w, m.view);
      w.u8(m.replica).u64(m.slot);
      writeAom(w, m.oc);
      return;
    case 'gap-decision':
      writeView(w, m.view);
      w.u8(m.replica).u64(m.slot).u8(m.recv ? 1 : 0);
      if (m.recv) writeAom(w, m.recv);
      w.u8(m.drops.length);
      for (const d of m.drops) writeDrop(w, d);
      w.raw(m.sig);
      return;
    case 'gap-prepare':
    case 'gap-commit':
      writeView(w, m.view);
      w.u8(m.replica).u64(m.slot).raw(m.digest).raw(m.sig);
      return;
    case 'sync':
      writeView(w, m.view);
      w.u8(m.replica).u64(m.slot).raw(m.logHash).raw(m.sig);
      return;
    case 'confirm':
      writeView(w, m.view);
      w.u8(m.replica).u64(m.slot).raw(m.digest).u8(m.need ? 1 : 0).raw(m.sig);
      return;
    case 'direct-request':
      w.u32(m.payload.length).raw(m.payload);
  }
}

const copy = (r: Reader, n: number, what: string) => r.bytesOf(n, what).slice();
const readView = (r: Reader): View => ({ epoch: r.u32('epoch'), leader: r.u8('leader') });

function readOc(r: Reader): OrderedMulticast {
  const m = readAom(r, AOM_TYPE.multicast);
  if (m.type !== 'aom') throw new WireError('bad-field', 'expected an ordered multicast');
  return m;
}

function readDrop(r: Reader): GapDrop {
  return { type: 'gap-drop', view: readView(r), replica: r.u8('replica'), slot: r.u64('slot'), sig: copy(r, SIG, 'signature') };
}

export function readProtocol(r: Reader, type: number): ProtocolMsg {
  switch (type) {
    case PROTOCOL_TYPE.reply: {
      const view = readView(r);
      const replica = r.u8('replica');
      const slot = r.u64('slot');
      const logHash = copy(r, 32, 'log hash');
      const client = r.u16('client');
      const requestId = r.u32('request id');
      const result = copy(r, r.u16('result length'), 'result');
      return { type: 'reply', view, replica, slot, logHash, client, requestId, result, mac: copy(r, 32, 'MAC') };
    }
    case PROTOCOL_TYPE.query:
      return { type: 'query', view: readView(r), replica: r.u8('replica'), slot: r.u64('slot') };
    case PROTOCOL_TYPE['query-reply']:
      return { type: 'query-reply', view: readView(r), slot: r.u64('slot'), oc: readOc(r) };
    case PROTOCOL_TYPE['gap-find']:
      return { ...readDrop(r), type: 'gap-find' };
    case PROTOCOL_TYPE['gap-drop']:
      return readDrop(r);
    case PROTOCOL_TYPE['gap-recv']:
      return { type: 'gap-recv', view: readView(r), replica: r.u8('replica'), slot: r.u64('slot'), oc: readOc(r) };
    case PROTOCOL_TYPE['gap-decision']: {
      const view = readView(r);
      const replica = r.u8('replica');
      const slot = r.u64('slot');
      const hasRecv = r.u8('decision kind');
      if (hasRecv > 1) throw new WireError('bad-field', `decision kind ${hasRecv}`);
      const recv = hasRecv ? readOc(r) : null;
      const n = r.u8('drop count');
      if (n > MAX_DROPS) throw new WireError('bad-field', `${n} drops`);
      const drops = Array.from({ length: n }, () => readDrop(r));
      return { type: 'gap-decision', view, replica, slot, recv, drops, sig: copy(r, SIG, 'signature') };
    }
    case PROTOCOL_TYPE['gap-prepare']:
    case PROTOCOL_TYPE['gap-commit']:
      return {
        type: type === PROTOCOL_TYPE['gap-prepare'] ? 'gap-prepare' : 'gap-commit', view: readView(r), replica: r.u8('replica'),
        slot: r.u64('slot'), digest: copy(r, 32, 'digest'), sig: copy(r, SIG, 'signature'),
      };
    case PROTOCOL_TYPE['direct-request']:
      return { type: 'direct-request', payload: copy(r, r.u32('payload length'), 'payload') };
    case PROTOCOL_TYPE.sync:
      return { type: 'sync', view: readView(r), replica: r.u8('replica'), slot: r.u64('slot'), logHash: copy(r, 32, 'log hash'), sig: copy(r, SIG, 'signature') };
    case PROTOCOL_TYPE.confirm:
      return {
        type: 'confirm', view: readView(r), replica: r.u8('replica'), slot: r.u64('slot'), digest: copy(r, 32, 'digest'),
        need: r.u8('need flag') === 1, sig: copy(r, SIG, 'signature'),
      };
    default:
      throw new WireError('unknown-type', `unknown BFTCluster message type ${type}`);
  }
}
