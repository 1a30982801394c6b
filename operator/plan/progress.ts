import { CLIENT_METRICS } from '../../node/runtime/metrics.js';
import { HYDRA_METRICS } from '../../node/hydra/metrics.js';
import type { ProgressCounter } from './types.js';

/** The key-value clients' completed requests (HydraPaxos, HydraTxn, NeoBFT, PBFT, unreplicated). */
export const clientsCommitted: ProgressCounter = {
  members: 'client-', role: 'clients', metric: CLIENT_METRICS.requests, labels: { result: 'committed' }, did: 'committed', doing: 'committing',
};

/** The key-value clients' resent requests: load that reaches no commit. */
export const clientsRetrying: ProgressCounter = {
  members: 'client-', role: 'clients', metric: CLIENT_METRICS.requests, labels: { result: 'retried' }, did: 'retried', doing: 'retrying',
};

/** Hydra's sequencers stamping: the ordering layer still carries traffic. */
export const sequencersStamping: ProgressCounter = {
  members: 'sequencer-', role: 'sequencers', metric: HYDRA_METRICS.stamped, labels: {}, did: 'stamped', doing: 'stamping',
};
