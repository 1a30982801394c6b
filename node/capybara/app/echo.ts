import { WireError } from '../../runtime/core.js';
import type { StreamApp, StreamSession } from './session.js';

const NEWLINE = 0x0a;

/** Echoes every byte back; a request is a line (the unit clients time). Nothing to migrate but the stream. */
class EchoSession implements StreamSession {
  feed(bytes: Uint8Array): { reply: Uint8Array; requests: number } {
    let requests = 0;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === NEWLINE) requests++;
    return { reply: bytes.slice(), requests };
  }

  exportState(): Uint8Array {
    return new Uint8Array(0);
  }
}

export const echoApp: StreamApp = {
  name: 'echo',
  open: () => new EchoSession(),
  restore(state) {
    if (state.length !== 0) throw new WireError('bad-app-state', `echo sessions carry no state, got ${state.length} bytes`);
    return new EchoSession();
  },
};
