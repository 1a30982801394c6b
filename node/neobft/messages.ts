import type { AomMsg } from './aom-messages.js';
import type { ProtocolMsg } from './protocol-messages.js';

/** Every datagram of a BFTCluster testbed: the AOM layer's and NeoBFT's own. */
export type NeoMsg = AomMsg | ProtocolMsg;
