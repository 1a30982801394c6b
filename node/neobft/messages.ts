import type { AomMsg } from './aom-messages.js';

/** Every datagram of a BFTCluster testbed (NeoBFT's own messages join the AOM ones). */
export type NeoMsg = AomMsg;
